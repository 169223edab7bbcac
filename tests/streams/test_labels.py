"""Truth for the facts of generated data: labelled wherever they occur, once, and
only where the replay's sweeps reach a deadline."""
from __future__ import annotations

import orjson

from detectors.config import DetectorConfig
from streams.codec import decode_event
from streams.engine import RiskEngine, run_events
from streams.generator.labels import label_facts, sweep_times
from streams.generator.model import DEFAULT_START, GeneratedEvent, TruthRecord, iso_z

HOUR = 3600.0


def event(event_type: str, hours: float, **fields) -> GeneratedEvent:
    ms = round((DEFAULT_START + hours * HOUR) * 1000)
    body = {"schema_version": 1, "event_id": f"{event_type}-{hours}-{fields.get('policy_id', '')}",
            "event_type": event_type, "event_time": iso_z(ms), **fields}
    return GeneratedEvent(fields.get("policy_id") or fields.get("complaint_id", "k"), body)


def policy(event_type: str, hours: float, policy_id: str, **extra) -> GeneratedEvent:
    return event(event_type, hours, policy_id=policy_id, customer_id="C1", agent_id="A1", branch_id="B1", **extra)


def ticks(until_hours: float) -> list[GeneratedEvent]:
    """Renewal premiums every 20 minutes: the clock the sweeps run on."""
    return [event("premium_paid", m / 3, policy_id="PX", customer_id="C9", payer_account_id="ACC9",
                  payee_account_id="INS", amount=100.0, currency="CNY", channel="card")
            for m in range(int(until_hours * 3) + 1)]


def test_sweeps_are_those_of_the_replay_loop():
    # One sweep to each hour boundary that an event reaches, the first event's own included.
    assert sweep_times([10.0, 1000.0, 3600.0, 3700.0, 7300.0, 7300.0, 9000.0]) == [0.0, 3600.0, 7200.0]
    events = sorted(ticks(5) + [policy("policy_issued", 0.1, "P1", product_id="PR1")], key=lambda e: e.time)
    seen = []
    engine = RiskEngine(DetectorConfig())
    original = engine.advance_detectors
    engine.advance_detectors = lambda watermark, store, keys=None: seen.append(watermark) or original(
        watermark, store, keys)
    list(run_events(engine, [decode_event(orjson.dumps(e.event), None, 4e9) for e in events]))
    assert seen == sweep_times(e.time for e in events)


def test_facts_are_labelled_once():
    events = sorted(ticks(80) + [
        policy("policy_issued", 1, "P1", product_id="PR1"),  # never called: missing at 73 h
        policy("policy_issued", 2, "P2", product_id="PR1"),
        policy("callback_failed", 3, "P2", callback_reason="no_answer"),
        policy("callback_completed", 73, "P2"),  # 71 h after issue: in time
        policy("policy_issued", 79.5, "P3", product_id="PR1"),  # deadline after the run
        event("complaint_filed", 4, complaint_id="K1", customer_id="C1", agent_id="A1", branch_id="B1",
              category="mis_selling"),
        event("complaint_filed", 5, complaint_id="K2", customer_id="C1", agent_id="A1", branch_id="B1",
              category="billing", deadline_hours=2.0),
        event("complaint_resolved", 7.5, complaint_id="K2", customer_id="C1"),  # late: 2.5 h
    ], key=lambda e: e.time)
    start = DEFAULT_START
    facts = label_facts(events, [])
    assert [(t.typology, t.entity_id, (t.start - start) / HOUR, (t.end - start) / HOUR) for t in facts] == [
        ("callback_missing", "P1", 1.0, 73.0),
        ("callback_failed", "P2", 3.0, 3.0),
        ("mis_selling_complaint", "K1", 4.0, 4.0),
        ("complaint_overdue", "K2", 5.0, 7.5),
    ]
    assert [t.scenario_id for t in facts][:2] == ["callback_missing-fact-0001", "callback_failed-fact-0001"]
    # A scenario's own record covers its fact: no second label.
    own = [TruthRecord("callback_missing-001-never_called", "callback_missing", "policy", "P1", start + HOUR,
                       start + 73 * HOUR, False)]
    assert "P1" not in {t.entity_id for t in label_facts(events, own)}
