"""Alerts the engine produces validate against the published alerts/schemas/alert.v1.json."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from detectors.config import DetectorConfig
from detectors.events import Event
from streams.engine import RiskEngine, run_events

SCHEMA = json.loads((Path(__file__).parents[2] / "alerts" / "schemas" / "alert.v1.json").read_text())


def test_every_detector_alert_matches_the_schema():
    events = [
        Event(f"p{i}", "premium_paid", "payment", 3600.0 * i, policy_id="P1", customer_id="C1",
              payer_account_id="ACC1", payee_account_id="INS", amount=45_000.0 + i, currency="CNY", channel="cash")
        for i in range(3)
    ] + [
        Event("s1", "sale_recorded", "policy", 10.0, policy_id="P2", agent_id="A1", branch_id="B1",
              transcript="本产品 最高收益 8%"),
    ] + [
        Event(f"c{i}", "complaint_filed", "complaint", 100.0 * i, complaint_id=f"K{i}", customer_id=f"C{i}",
              agent_id="A9", branch_id="B2", category="other")
        for i in range(3)
    ]
    engine = RiskEngine(DetectorConfig(), clock=lambda: 1_767_000_000.0, runbook_base_url="https://riskwatch.example/runbooks")
    alerts = list(run_events(engine, sorted(events, key=lambda e: e.time)))
    assert {a.typology for a in alerts} == {"structuring", "misleading_sales_phrase", "complaint_spike"}
    for alert in alerts:
        jsonschema.validate(alert.to_dict(), SCHEMA)
        assert alert.runbook_url == f"https://riskwatch.example/runbooks/{alert.typology}.md"
