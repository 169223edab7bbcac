"""A broker outage mid-run (issue 9, test 3): the broker is unreachable for 20 s and
comes back; the worker neither exits nor spins while it is gone, logs it, and once
it is back handles the events produced before and after the outage: none is lost.

The embedded broker keeps everything in memory, so restarting its process would lose
every topic, record, committed offset and consumer group: a restart of it is no outage
but a new, empty broker (README, "The embedded broker"). The outage here is the one a
durable broker has: the worker reaches the broker through a relay (``tcp_proxy``)
that the test cuts for 20 s and restores; the broker keeps its data, as Apache Kafka
does across a restart. The test runs its own broker, so the others keep theirs.
"""
from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from kafka import KafkaProducer

from services import wait_until
from streams.broker import EmbeddedBroker, free_port
from streams.processes import stop_process
from tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration

OUTAGE_S = 20
#: CPU seconds the worker may use while the broker is gone: a spinning client
#: would use about one per second of outage.
OUTAGE_CPU_BUDGET_S = OUTAGE_S * 0.4
RESUME_TIMEOUT_S = 90
#: Log lines the worker may write while the broker is gone: aiokafka's retries every
#: 100 ms wrote some 2,300 before they were summarised (streams/log_flood.py).
OUTAGE_LOG_LINES = 150


def _episode(system, account: str, day: int) -> None:
    """Three near-threshold cash payments within 72 h: one structuring alert for ``account``."""
    producer = KafkaProducer(bootstrap_servers=system.settings.bootstrap_servers, linger_ms=5)
    for n in range(3):
        producer.send(system.settings.topics.payment, key=f"P-{account}".encode(), value=orjson.dumps({
            "schema_version": 1, "event_id": f"pay-{account}-{n}", "event_type": "premium_paid",
            "event_time": f"2026-01-{day:02d}T{8 + n:02d}:00:00Z", "policy_id": f"P-{account}",
            "customer_id": f"C-{account}", "payer_account_id": account, "payee_account_id": "ACC-INSURER",
            "amount": 45_000 + n, "currency": "CNY", "channel": "cash"}))
    producer.flush()
    producer.close()


def _structuring_alert_for(system, account: str) -> bool:
    return any(a["typology"] == "structuring" and a["entity_id"] == account for a in system.alerts(idle_s=1))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in clock ticks of 1/100 s


def test_worker_rides_out_a_broker_outage_and_resumes(start_system, tmp_path):
    broker_port = free_port()
    proxy = TcpProxy(("127.0.0.1", broker_port)).start()
    broker = EmbeddedBroker(port=broker_port, advertised_port=proxy.port,
                            log_file=tmp_path / "outage-broker.log").start()
    system = None
    try:
        system = start_system(RISKWATCH_BROKER_URL=broker.url)
        system.wait_ready()
        _episode(system, "ACC-BEFORE", day=5)
        wait_until(lambda: _structuring_alert_for(system, "ACC-BEFORE"), 120, "the alert before the outage")
        log_before = len(system.log_path.read_bytes())

        proxy.cut()
        cpu_before = _cpu_seconds(system.process.pid)
        time.sleep(OUTAGE_S)
        assert system.process.poll() is None, f"worker exited during the outage; log:\n{system.log_tail()}"
        spent = _cpu_seconds(system.process.pid) - cpu_before
        assert spent < OUTAGE_CPU_BUDGET_S, f"worker used {spent:.1f} CPU s in a {OUTAGE_S} s outage (spinning)"
        outage_log = system.log_path.read_bytes()[log_before:].decode(errors="replace")
        assert "Unable connect to node" in outage_log, "nothing in the worker's log about the outage"
        assert len(outage_log.splitlines()) < OUTAGE_LOG_LINES, f"the outage flooded the log:\n{outage_log[-3000:]}"

        proxy.restore()
        restored = time.monotonic()
        _episode(system, "ACC-AFTER", day=20)
        def resumed() -> bool:
            system.progress()  # fails at once if the worker has exited
            return _structuring_alert_for(system, "ACC-AFTER")

        wait_until(resumed, RESUME_TIMEOUT_S, "the alert after the outage")
        # Nothing was lost on the way: both episodes' six events handled, one alert id each.
        wait_until(lambda: system.progress().consumed == 6, 30, "six events consumed")
        counts = system.progress()
        assert (counts.consumed, counts.rejected) == (6, 0), counts
        structuring = {(a["entity_id"], a["alert_id"]) for a in system.alerts(idle_s=1) if a["typology"] == "structuring"}
        assert sorted(entity for entity, _ in structuring) == ["ACC-AFTER", "ACC-BEFORE"], structuring
        print(f"outage: {OUTAGE_S} s, worker CPU {spent:.1f} s, {len(outage_log.splitlines())} log lines; "
              f"alert {time.monotonic() - restored:.1f} s after the broker came back")
    finally:
        if system is not None:
            stop_process(system.process)  # before the broker, so that it can leave its group
        broker.stop()
        proxy.cut()
