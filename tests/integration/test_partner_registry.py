"""The partner registry on the embedded broker: a partner blacklisted through
``partner.registry`` mid-run gets a critical alert for its next sale, and none
for its sales before the blacklisting's effective time, even one that arrives
after the record."""
from __future__ import annotations

import time

import orjson
import pytest

from builders import raw_event
from detectors.config import DetectorConfig
from detectors.registry import iso_time
from streams.codec import decode_event
from streams.engine import RiskEngine
from streams.metrics import scrape_progress
from streams.partner_codec import partner_record_from_object
from streams.partners import show_partner
from streams.publish import event_producer, produce_registry

pytestmark = pytest.mark.integration

PARTNER = "PT-IT-1"


def _record(t0: float, blacklisted_at: float | None = None) -> dict:
    changes = [{"status": "active", "reason": "admitted", "effective_time": iso_time(t0 - 400 * 86_400)}]
    if blacklisted_at is not None:
        changes.append({"status": "blacklisted", "reason": "forged sales records",
                        "effective_time": iso_time(blacklisted_at)})
    return {"schema_version": 1, "record_type": "partner", "partner_id": PARTNER, "partner_type": "agency",
            "branch_id": "BR-IT", "qualification_valid_until": iso_time(t0 + 365 * 86_400),
            "contract": {"processing_time_targets_h": {"policy_issuance": 48}}, "status_changes": changes}


def _sale(n: int, at: float) -> dict:
    return raw_event("sale_recorded", event_id=f"it-sale-{n}", event_time=iso_time(at), policy_id=f"PL-IT-{n}",
                     customer_id=f"CU-IT-{n}", agent_id="AG-IT-1", branch_id="BR-IT", partner_id=PARTNER)


def _wait(system, condition, what: str, timeout_s: float = 90.0):
    deadline = time.monotonic() + timeout_s
    counts = None
    while time.monotonic() < deadline:
        assert system.process.poll() is None, f"worker exited; log:\n{system.log_tail()}"
        try:
            counts = scrape_progress(system.metrics_url)
        except OSError:
            counts = None
        if counts is not None and condition(counts):
            return counts
        time.sleep(0.3)
    raise AssertionError(f"{what}: {counts}; log:\n{system.log_tail()}")


def test_blacklisting_takes_effect_for_business_after_its_effective_time(system):
    settings, names = system.settings, system.settings.topics
    system.wait_ready()
    t0 = time.time() - 86_400.0
    blacklisted_at = t0 + 3 * 3600
    records = [_record(t0), _record(t0, blacklisted_at)]
    # sales 0 and 1 before the record, 2 (before the effective time) and 3 (after it) after the record
    sales = [_sale(0, t0 + 3600), _sale(1, t0 + 2 * 3600), _sale(2, t0 + 2.5 * 3600), _sale(3, t0 + 4 * 3600)]
    engine = RiskEngine(DetectorConfig())  # what the worker will route, for the progress counts
    keyed = 0

    def send(events: list[dict]) -> None:
        nonlocal keyed
        producer = event_producer(settings)
        for event in events:
            producer.send(names.policy, key=event["policy_id"].encode(), value=orjson.dumps(event))
            decoded = engine.with_partner(decode_event(orjson.dumps(event), "policy", time.time()))
            keyed += len(engine.routes(decoded))
        producer.flush()
        producer.close()

    def registry(record: dict, count: int) -> None:
        produce_registry(settings, [record])
        engine.registry.apply(partner_record_from_object(record))
        _wait(system, lambda c: c.consumed_per_topic.get(names.partner_registry, 0) == count,
              f"registry record {count} not taken")

    registry(records[0], 1)
    send(sales[:2])
    registry(records[1], 2)  # mid-run: the blacklisting, effective at t0 + 3 h
    send(sales[2:])
    _wait(system, lambda c: c.consumed_per_topic.get(names.policy, 0) == 4 and c.keyed == keyed,
          "sales not processed")

    barred = [a for a in system.alerts(idle_s=6) if a["typology"] == "partner_barred_business"]
    assert {a["alert_id"] for a in barred} and len({a["alert_id"] for a in barred}) == 1, barred
    first = barred[0]
    assert (first["tier"], first["entity_type"], first["entity_id"]) == ("critical", "partner", PARTNER)
    assert first["evidence"]["event_ids"] == ["it-sale-3"]
    assert first["evidence"]["status"] == "blacklisted"
    seen = {i for a in barred for i in a["evidence"]["event_ids"]}
    assert seen == {"it-sale-3"}, "sales before the effective time must not alert"

    # `riskwatch partners show` reads the registry topic: the latest record of the partner wins.
    shown = show_partner(settings, PARTNER)
    assert [c["status"] for c in shown["record"]["status_changes"]] == ["active", "blacklisted"]
    assert shown["current"]["status"] == "blacklisted" and not shown["current"]["may_do_business"]


def test_a_bad_registry_record_goes_to_the_dead_letter_topic(system):
    settings, names = system.settings, system.settings.topics
    system.wait_ready()
    bad = {**_record(time.time()), "partner_type": "notary"}
    produce_registry(settings, [bad])
    _wait(system, lambda c: c.rejected == 1, "bad record not rejected")
    dead = system.read(names.dead_letter(names.partner_registry), expected=1)
    headers = dict(dead[0].headers)
    assert headers["riskwatch-reason"] == b"out_of_range"
    assert orjson.loads(dead[0].value)["partner_type"] == "notary"
