"""Proposals for review, suspension or exit from partner scorecards."""
from __future__ import annotations

from alerts.review import ReviewPolicy, proposals, propose

TARGETS = {"compliance_rate": 0.98, "contract_deviation": 0.02, "processing_on_time_rate": 0.95,
           "loss_ratio": 0.7, "response_rate": 1.0}


def _card(pid: str, below=(), alerts=(), status=None, **figures) -> dict:
    card = {"scope": "partner", "id": pid, "branch_id": "B1", "period": "2026Q3", "policies": 50,
            "flagged_policies": 0, "registry_status": status, "targets": TARGETS, "below_target": list(below),
            "serious_alerts": list(alerts), "compliance_rate": 1.0, "contract_deviation": 0.0,
            "processing_on_time_rate": 1.0, "loss_ratio": 0.1, "response_rate": 1.0}
    card.update(figures)
    return card


def _alert(aid, tier, entity_type="partner", resolution=None):
    return {"alert_id": aid, "tier": tier, "typology": "partner_compliance_rate", "entity_type": entity_type,
            "first_seen": "2026-08-01T00:00:00Z", "status": "resolved" if resolution else "open",
            "resolution": resolution}


def test_a_partner_on_target_is_not_proposed():
    assert propose(_card("PT1"), ReviewPolicy()) is None


def test_one_kpi_below_target_is_a_review_with_its_figure():
    found = propose(_card("PT1", below=["loss_ratio"], loss_ratio=0.9), ReviewPolicy())
    assert found["action"] == "review"
    assert found["evidence"] == ["loss ratio 90.0% against a target of 70.0%"]


def test_compliance_far_below_target_is_a_suspension():
    found = propose(_card("PT1", below=["compliance_rate"], compliance_rate=0.9, flagged_policies=5), ReviewPolicy())
    assert found["action"] == "suspension"
    assert found["evidence"] == ["compliance rate 90.0% against a target of 98.0% (5 of 50 policies flagged)"]


def test_late_responses_are_not_held_against_the_partner():
    assert propose(_card("PT1", below=["response_rate"], response_rate=0.0), ReviewPolicy()) is None


def test_a_confirmed_critical_alert_on_the_partner_is_an_exit_and_exits_come_first():
    cards = [_card("PT2", below=["loss_ratio"], loss_ratio=0.9),
             _card("PT1", alerts=[_alert("a1", "critical", resolution="confirmed")]),
             _card("PT3", alerts=[_alert("a2", "critical", resolution="false_positive")])]
    found = proposals(cards)
    assert [(p["partner_id"], p["action"]) for p in found] == [("PT1", "exit"), ("PT2", "review")]
    assert "a1" in found[0]["evidence"][0]


def test_a_blacklisted_partner_still_selling_is_an_exit():
    found = propose(_card("PT1", status="blacklisted"), ReviewPolicy())
    assert found["action"] == "exit" and "blacklisted" in found["evidence"][0]
