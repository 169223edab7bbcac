"""The alert book on hand-worked timelines: tiers, dedupe, suppression, deadlines, actions, clearing.

Times are hours after T0. Defaults: correlation window 7 d, a 3rd alert of one
typology or a 2nd typology on one subject raises one tier, high has 24 h and
critical 4 h to be acknowledged, an alert clears after 7 d without findings.
"""
from __future__ import annotations

import orjson

from alerts.book import AlertBook, Disposition, subject_of
from alerts.model import AlertStatus
from alerts.policy import AlertPolicyConfig
from builders import T0
from detectors.base import Finding, Tier

H = 3600.0
DAY = 24 * H


def finding(typology="structuring", entity="ACC1", at_h=0.0, tier=Tier.MEDIUM, window_h=None, ids=None,
            entity_type="account", customer="C1", detector=None) -> Finding:
    evidence = {"event_ids": ids or [f"{typology}-{entity}-{at_h}"]}
    if customer:
        evidence["customer_id"] = customer
    return Finding(detector=detector or typology, detector_version="1", typology=typology, tier=tier,
                   tier_reason="rule", entity_type=entity_type, entity_id=entity,
                   window_start=T0 + (at_h if window_h is None else window_h) * H, event_time=T0 + at_h * H,
                   score=1.0, summary="s", evidence=evidence)


def book(**policy) -> AlertBook:
    return AlertBook(AlertPolicyConfig(**policy), "v1", clock=lambda: 0.0)


def feed(b: AlertBook, items, state=None):
    records = []
    for item in items:
        if isinstance(item, Finding):
            state, out = b.on_finding(item, state)
        elif isinstance(item, dict):
            state, out = b.on_action(item, state)
        else:  # a watermark, hours
            state, out = b.advance(state, T0 + item * H)
        records.extend(out.records)
        state = orjson.loads(orjson.dumps(state)) if state is not None else None  # state survives a round trip
    return state, records


def test_subject_is_the_customer_behind_an_account_else_the_agent_else_the_entity():
    assert subject_of(finding()) == "customer:C1"
    assert subject_of(finding(customer=None)) == "account:ACC1"
    sale = Finding("banned_phrases", "1", "misleading_sales_phrase", Tier.CRITICAL, "r", "policy", "P1", 0.0, 0.0,
                   1.0, "s", {"agent_id": "A7", "event_ids": ["e"]})
    assert subject_of(sale) == "agent:A7"
    spike = finding("complaint_spike", "A7", entity_type="agent", customer=None)
    assert subject_of(spike) == "agent:A7"


def test_same_alert_id_updates_count_last_seen_and_evidence_instead_of_opening_another():
    b = book()
    state, records = feed(b, [finding(at_h=1, window_h=0, ids=["e1"]), finding(at_h=5, window_h=0, ids=["e1", "e2"])])
    assert [r.alert_id for r in records] == [records[0].alert_id] * 2
    latest = records[-1]
    assert (latest.count, latest.first_seen, latest.last_seen) == (2, T0 + 1 * H, T0 + 5 * H)
    assert latest.evidence["event_ids"] == ["e1", "e2"]
    # The same finding delivered again (a restart) changes nothing and publishes nothing.
    state, again = feed(b, [finding(at_h=5, window_h=0, ids=["e1", "e2"])], state)
    assert again == []


def test_repeat_alerts_of_one_typology_raise_the_tier_on_the_third():
    b = book()
    _, records = feed(b, [finding(at_h=0), finding(at_h=24), finding(at_h=48)])
    assert [r.tier for r in records] == [Tier.MEDIUM, Tier.MEDIUM, Tier.HIGH]
    assert "alert no. 3 of structuring on customer:C1 within 7 d" in records[2].tier_reason


def test_repeats_outside_the_correlation_window_do_not_count():
    b = book()
    _, records = feed(b, [finding(at_h=0), finding(at_h=24), 7 * 24 + 30, finding(at_h=7 * 24 + 30)])
    assert records[-1].tier == Tier.MEDIUM


def test_combined_typologies_on_one_customer_raise_the_tier():
    # Structuring on an account, a third-party payer on a policy, both of customer C1.
    b = book()
    _, records = feed(b, [
        finding("structuring", "ACC1", at_h=0, tier=Tier.HIGH),
        finding("third_party_payer", "P9", at_h=2, tier=Tier.MEDIUM, entity_type="policy"),
        finding("rapid_in_out", "P9", at_h=3, tier=Tier.HIGH, entity_type="policy"),
    ])
    assert [r.tier for r in records] == [Tier.HIGH, Tier.HIGH, Tier.CRITICAL]
    assert "also structuring, third_party_payer on customer:C1" in records[2].tier_reason


def test_tier_never_goes_down_and_a_higher_finding_raises_the_open_alert():
    b = book()
    _, records = feed(b, [finding(at_h=0, window_h=0, tier=Tier.HIGH, ids=["a"]),
                          finding(at_h=1, window_h=0, tier=Tier.MEDIUM, ids=["b"]),
                          finding(at_h=2, window_h=0, tier=Tier.CRITICAL, ids=["c"])])
    assert [r.tier for r in records] == [Tier.HIGH, Tier.HIGH, Tier.CRITICAL]
    # Raised to critical at 2 h: the 4 h critical deadline (6 h) is earlier than high's (24 h).
    assert records[-1].ack_deadline == T0 + 6 * H


def test_unacknowledged_critical_alert_escalates_when_event_time_passes_its_deadline():
    b = book()
    _, records = feed(b, [finding(at_h=0, tier=Tier.CRITICAL), 3.9, 4.0])
    assert [(r.status, r.escalation_level) for r in records] == [(AlertStatus.OPEN, 0), (AlertStatus.ESCALATED, 1)]
    # It escalates again after another 4 h without acknowledgement.
    _, records = feed(b, [finding(at_h=0, tier=Tier.CRITICAL), 4.0, 7.9, 8.0])
    assert [r.escalation_level for r in records] == [0, 1, 2]


def test_acknowledged_critical_alert_does_not_escalate():
    b = book()
    state, records = feed(b, [finding(at_h=0, tier=Tier.CRITICAL)])
    ack = {"action": "ack", "alert_id": records[0].alert_id, "subject": "customer:C1", "who": "oncall-1",
           "at": T0 + 3 * H}
    _, records = feed(b, [ack, 4.0, 30.0], state)
    assert [r.status for r in records] == [AlertStatus.ACKNOWLEDGED]
    assert (records[0].acknowledged_by, records[0].acknowledged_at) == ("oncall-1", T0 + 3 * H)


def test_medium_alerts_have_no_deadline():
    _, records = feed(book(), [finding(at_h=0, tier=Tier.MEDIUM), 100.0])
    assert records[0].ack_deadline is None and len(records) == 1


def test_resolve_with_a_disposition_is_reported_for_feedback():
    b = book()
    state, records = feed(b, [finding("complaint_spike", "A7", entity_type="agent", customer=None, tier=Tier.HIGH)])
    resolve = {"action": "resolve", "alert_id": records[0].alert_id, "subject": "agent:A7", "who": "risk-2",
               "at": T0 + H, "disposition": "confirmed"}
    state, out = b.on_action(resolve, state)
    assert out.records[0].status == AlertStatus.RESOLVED and out.records[0].resolution == "confirmed"
    assert out.dispositions == [Disposition(records[0].alert_id, "complaint_spike", "complaint_spike", "confirmed",
                                            "A7", T0 + H, records[0].branch_id, "high")]
    # A finding for a resolved id does not reopen it; a second resolve is ignored.
    state, out = b.on_finding(finding("complaint_spike", "A7", entity_type="agent", customer=None, ids=["new"]), state)
    assert out.records == []
    assert b.on_action(resolve, state)[1].records == []


def test_condition_cleared_resolves_after_seven_days_without_findings_and_is_forgotten_later():
    b = book()
    state, records = feed(b, [finding(at_h=0), 24 * 7 - 1, 24 * 7])
    assert [r.status for r in records] == [AlertStatus.OPEN, AlertStatus.RESOLVED]
    assert records[-1].resolution == "condition_cleared"
    state, _ = feed(b, [24 * 38], state)  # 30 days after resolution
    assert state is None


def test_suppression_stops_alerts_counts_findings_and_hands_them_to_the_next_alert():
    b = book()
    suppress = {"action": "suppress", "subject": "customer:C1", "entity_type": "account", "entity_id": "ACC1",
                "typology": "structuring", "until": T0 + 48 * H, "reason": "known payroll pattern", "who": "risk-1",
                "at": T0}
    state, records = feed(b, [suppress, finding(at_h=1, ids=["s1"]), finding(at_h=20, ids=["s2"]),
                              finding("fan_in", "ACC1", at_h=21)])  # another typology is not suppressed
    assert [r.typology for r in records] == ["fan_in"]
    state, out = b.on_finding(finding(at_h=50, ids=["after"]), state)
    alert = out.records[0]
    assert alert.evidence["suppressed"] == {"count": 2, "event_ids": ["s1", "s2"], "until": T0 + 48 * H,
                                            "reason": "known payroll pattern", "who": "risk-1"}
    assert out.suppressed == []
    state, out = b.on_finding(finding(at_h=10, ids=["late"]), {"alerts": {}, "recent": [], "supp": [
        {**suppress, "count": 0, "event_ids": []}]})
    assert out.suppressed == [("structuring", "structuring")] and out.records == []
