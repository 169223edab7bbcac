"""The partner registry's effective times, its codec, and the registry rules on hand-worked cases."""
from __future__ import annotations

import orjson
import pytest

from builders import DAY, HOUR, T0, T0_ISO, feed, policy_event, sale
from detectors.branch_accountability import BranchAccountabilityConfig, BranchAccountabilityDetector
from detectors.config import DetectorConfig
from detectors.events import Event
from detectors.partner_peers import PartnerComplaintOutlier, PartnerLossRatioOutlier, PartnerPeerConfig
from detectors.partner_standing import BarredPartnerBusiness, PartnerStandingConfig, UnqualifiedPartnerBusiness
from detectors.registry import PartnerRecord, PartnerRegistry, PartnerStanding, StatusChange, iso_time
from streams.codec import InvalidEvent
from streams.engine import RiskEngine, run_events
from streams.partner_codec import decode_history_line, decode_partner_record


def record(*changes: tuple[str, float], until: float | None = None) -> PartnerRecord:
    return PartnerRecord("PT1", "agency", "BR1", qualification_valid_until=until,
                         status_changes=tuple(StatusChange(s, f"note {i}", t) for i, (s, t) in enumerate(changes)))


def test_status_holds_from_its_effective_time_and_not_before():
    registry = PartnerRegistry()
    registry.apply(record(("active", T0), ("suspended", T0 + 10 * HOUR), ("active", T0 + 20 * HOUR),
                          ("terminated", T0 + 30 * HOUR)))
    at = {h: registry.standing("PT1", T0 + h * HOUR).status for h in (-1, 0, 9.99, 10, 19, 20, 29, 30, 100)}
    assert at == {-1: None, 0: "active", 9.99: "active", 10: "suspended", 19: "suspended", 20: "active",
                  29: "active", 30: "terminated", 100: "terminated"}
    assert registry.standing("PT1", T0 + 10 * HOUR).status_since == T0 + 10 * HOUR


def test_a_newer_record_replaces_the_old_one():
    registry = PartnerRegistry()
    registry.apply(record(("active", T0)))
    registry.apply(record(("active", T0), ("blacklisted", T0 + HOUR)))
    assert registry.standing("PT1", T0 + 2 * HOUR).status == "blacklisted"
    assert len(registry) == 1


def raw_record(**over) -> dict:
    data = {"schema_version": 1, "record_type": "partner", "partner_id": "PT1", "partner_type": "bancassurance",
            "branch_id": "BR1", "qualification_valid_until": "2024-01-01T00:00:00Z",
            "contract": {"processing_time_targets_h": {"claim_settlement": 72}, "compliance_target": 0.98,
                         "expected_monthly_volume": 300},
            "status_changes": [{"status": "blacklisted", "reason": "fraud", "effective_time": "2023-11-20T00:00:00Z"},
                               {"status": "active", "reason": "admitted", "effective_time": T0_ISO}]}
    data.update(over)
    return data


def test_codec_decodes_a_record_and_sorts_its_changes():
    decoded = decode_partner_record(orjson.dumps(raw_record()))
    assert [c.status for c in decoded.status_changes] == ["active", "blacklisted"]
    assert decoded.processing_targets_s == {"claim_settlement": 72 * 3600.0}
    assert (decoded.compliance_target, decoded.expected_monthly_volume) == (0.98, 300)
    assert decoded.status_at(T0 + DAY).status == "blacklisted"


@pytest.mark.parametrize("over, reason", [
    ({"partner_type": "notary"}, "out_of_range"),
    ({"status_changes": []}, "out_of_range"),
    ({"status_changes": [{"status": "active", "reason": "x", "effective_time": "yesterday"}]}, "bad_event_time"),
    ({"status_changes": [{"status": "paused", "reason": "x", "effective_time": T0_ISO}]}, "out_of_range"),
    ({"branch_id": None}, "missing_field"),
    ({"contract": {"processing_time_targets_h": {"lunch": 1}}}, "out_of_range"),
    ({"contract": {"compliance_target": 1.5}}, "out_of_range"),
    ({"schema_version": 2}, "unsupported_schema_version"),
])
def test_codec_rejects_a_bad_record_with_a_bounded_reason(over, reason):
    with pytest.raises(InvalidEvent) as error:
        decode_partner_record(orjson.dumps(raw_record(**over)))
    assert error.value.reason == reason


def test_history_lines_tell_records_from_events():
    assert isinstance(decode_history_line(orjson.dumps(raw_record()), T0), PartnerRecord)
    line = {"schema_version": 1, "event_id": "e1", "event_type": "alert_confirmed", "event_time": T0_ISO,
            "typology": "structuring"}
    assert isinstance(decode_history_line(orjson.dumps(line), T0), Event)


def test_replay_judges_each_sale_by_the_registry_at_its_own_time():
    # The record (blacklisted from T0 + 2 h) comes first; sales at 1 h and at 2 h, 3 h.
    events = [record(("active", T0 - DAY), ("blacklisted", T0 + 2 * HOUR))]
    events += [sale(f"s{h}", None, t=T0 + h * HOUR, policy_id=f"P{h}", partner_id="PT1") for h in (1, 2, 3)]
    alerts = [a for a in run_events(RiskEngine(DetectorConfig()), events) if a.typology == "partner_barred_business"]
    assert [(a.tier.value, a.count, a.evidence["event_ids"]) for a in alerts] == [
        ("critical", 1, ["s2"]), ("critical", 2, ["s2", "s3"])]
    assert alerts[0].window_start == T0 + 2 * HOUR


def standing(**over) -> PartnerStanding:
    return PartnerStanding(**{"partner_type": "agency", "branch_id": "BR1", "status": "active",
                              "status_reason": "admitted", "status_since": T0 - DAY, **over})


def test_barred_business_is_critical_and_expired_qualification_high_but_not_both():
    barred, expired = BarredPartnerBusiness(PartnerStandingConfig()), UnqualifiedPartnerBusiness(PartnerStandingConfig())
    both = standing(status="suspended", status_since=T0, qualification_valid_until=T0 - HOUR)
    lapsed = standing(qualification_valid_until=T0 - HOUR)
    claim = policy_event("c1", "claim_settled", t=T0, partner_id="PT1", claim_id="CL1", partner=both)
    assert [f.tier.value for f in feed(barred, [claim])[0]] == ["critical"]
    assert feed(expired, [claim])[0] == []
    paid = Event("p1", "premium_paid", "payment", T0, policy_id="P1", partner_id="PT1", partner=lapsed)
    found = feed(expired, [paid])[0]
    assert [(f.tier.value, f.window_start, f.evidence["qualification_valid_until"]) for f in found] == [
        ("high", T0 - HOUR, iso_time(T0 - HOUR))]
    assert feed(barred, [paid])[0] == []


def test_branch_accountability_counts_confirmed_critical_findings_within_a_year():
    d = BranchAccountabilityDetector(BranchAccountabilityConfig())

    def confirmed(i: int, days: float, tier: str = "critical") -> Event:
        return Event(f"c{i}", "alert_confirmed", "complaint", T0 + days * DAY, branch_id="BR1", tier=tier,
                     alert_id=f"AL{i}", typology="structuring")
    # 366 days apart: not within a year; then a third 100 days after the second: two within a year.
    found, _ = feed(d, [confirmed(1, 0), confirmed(2, 366), confirmed(2, 366), confirmed(3, 466, "high"),
                        confirmed(4, 466)])
    assert [(f.entity_id, f.evidence["alert_ids"], f.window_start) for f in found] == [
        ("BR1", ["AL2", "AL4"], T0 + 366 * DAY)]


def _complaint_rate_findings(sold_a: int, complaints_a: int) -> list:
    d = PartnerComplaintOutlier(PartnerPeerConfig())
    events = []
    for partner, sold, complaints in (("A", sold_a, complaints_a), ("B", 50, 1), ("C", 50, 1)):
        events += [sale(f"{partner}s{i}", None, t=T0 + i * 60, policy_id=f"{partner}{i}", partner_id=partner,
                        partner=standing()) for i in range(sold)]
        events += [Event(f"{partner}c{i}", "complaint_filed", "complaint", T0 + HOUR + i * 60, complaint_id=f"K{i}",
                         partner_id=partner, partner=standing()) for i in range(complaints)]
    return feed(d, sorted(events, key=lambda e: e.time))[0]


def test_partner_complaint_rate_against_its_type_hand_worked():
    # Partner A: 40 policies, 9 complaints (225 per thousand). Peers B and C: 100 policies, 2 complaints.
    # Peer rate (2 + 0.02 x 200) / (100 + 200) = 0.02; 9/40 is over twice that, and the beta-binomial
    # tail P(X >= 9 | n=40, alpha=2, beta=98) is 5e-05 < 1e-4: medium.
    found = _complaint_rate_findings(40, 9)
    assert [(f.entity_id, f.tier.value, f.evidence["events"], f.evidence["exposure"], f.evidence["peer_rate"])
            for f in found] == [("A", "medium", 9, 40, 0.02)]
    assert found[0].evidence["p_value"] == pytest.approx(5e-05, rel=0.2)
    # At 8 complaints the tail is 2e-04: none. 5 in 12 would pass the test (3.5e-05), but 12 policies
    # are fewer than the 30 a partner is judged on.
    assert _complaint_rate_findings(40, 8) == [] and _complaint_rate_findings(12, 5) == []


def test_partner_loss_ratio_is_tested_as_the_claims_share_of_the_money():
    # A: premium 100,000 and claims of 50,000 CNY (each at the 5-unit cap); at the fifth claim 35
    # units, 25 of claims (share 0.71, loss ratio 2.5): the first count the test flags.
    # B: premium 200,000, claims 20,000: peer share (2 + 0.3 x 200) / (22 + 200) = 0.279.
    d = PartnerLossRatioOutlier(PartnerPeerConfig())

    def pay(event_id: str, kind: str, amount: float, partner: str, t: float) -> Event:
        return Event(event_id, kind, "payment", t, policy_id="P1", partner_id=partner, amount=amount,
                     partner=standing())
    events = [pay(f"Ap{i}", "premium_paid", 10_000.0, "A", T0 + i) for i in range(10)]
    events += [pay(f"Bp{i}", "premium_paid", 20_000.0, "B", T0 + i) for i in range(10)]
    events += [pay("Bc", "claim_payout", 20_000.0, "B", T0 + HOUR)]
    events += [pay(f"Ac{i}", "claim_payout", 50_000.0, "A", T0 + 2 * HOUR + i) for i in range(6)]
    found, _ = feed(d, sorted(events, key=lambda e: e.time))
    assert [(f.entity_id, f.evidence["events"], f.evidence["exposure"], f.evidence["loss_ratio"],
             round(f.evidence["peer_rate"], 3)) for f in found] == [("A", 25, 35, 2.5, 0.279)]
    # One claim of 300,000 CNY counts 5 units, not 30: 5 of 15 units is no outlier.
    events = [e for e in events if not e.event_id.startswith("Ac")]
    events += [pay("Ac", "claim_payout", 300_000.0, "A", T0 + 2 * HOUR)]
    assert feed(PartnerLossRatioOutlier(PartnerPeerConfig()), sorted(events, key=lambda e: e.time))[0] == []
