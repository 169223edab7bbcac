"""Detector state survives a SIGKILL of the worker: an episode spanning the crash is still detected,
whether the events after the crash arrive once the new worker is ready or while it joins its
group and recovers (then they used to be skipped: 127 to 140 of 150 alerts, until the keyed stage
acknowledged in offset order, see streams/acks.py)."""
from __future__ import annotations

import time

import orjson
import pytest
from kafka import KafkaProducer

from detectors.config import DetectorConfig
from streams.codec import decode_event
from streams.engine import RiskEngine

pytestmark = pytest.mark.integration

ACCOUNTS = 150


def _payment(account: int, n: int) -> bytes:
    return orjson.dumps({
        "schema_version": 1, "event_id": f"pay-{account}-{n}", "event_type": "premium_paid",
        "event_time": f"2026-01-05T{8 + n:02d}:00:00Z", "policy_id": f"P-{account}", "customer_id": f"C-{account}",
        "payer_account_id": f"ACC-{account}", "payee_account_id": "ACC-INSURER", "amount": 45_000 + n,
        "currency": "CNY", "channel": "cash"})


def _send(system, payments: list[tuple[int, int]]) -> None:
    producer = KafkaProducer(bootstrap_servers=system.settings.bootstrap_servers, linger_ms=20)
    for account, n in payments:
        producer.send(system.settings.topics.payment, key=f"P-{account}".encode(), value=_payment(account, n))
    producer.flush()
    producer.close()


def _routes_per_payment() -> int:
    engine = RiskEngine(DetectorConfig())
    return len(engine.routes(decode_event(_payment(0, 0), "payment", time.time())))


@pytest.mark.parametrize("send", ["once_ready", "while_joining"])
def test_state_recovered_after_sigkill_detects_the_episode_spanning_the_crash(system, send):
    # Two near-threshold cash payments per account before the crash: no alert yet.
    # Sent in one burst, so the state table's changelog ends in multi-record batches:
    # what the embedded broker's wrong end offsets used to cut short on recovery.
    _send(system, [(a, n) for n in (0, 1) for a in range(ACCOUNTS)])
    system.wait_processed(consumed=2 * ACCOUNTS, rejected=0, keyed=2 * ACCOUNTS * _routes_per_payment())
    time.sleep(2.5)  # past faust's 1 s commit interval: offsets and changelog flushed
    assert [a for a in system.alerts() if a["typology"] == "structuring"] == []

    system.crash_and_restart()
    if send == "once_ready":
        system.wait_ready()
    # The third payment of every account arrives after the restart.
    _send(system, [(a, 2) for a in range(ACCOUNTS)])
    alerts = system.alerts(expected=ACCOUNTS, idle_s=30)
    structuring = {a["entity_id"] for a in alerts if a["typology"] == "structuring"}
    assert structuring == {f"ACC-{a}" for a in range(ACCOUNTS)}
