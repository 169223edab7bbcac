"""Partner KPIs: compliance rate (target 98%) and contract execution deviation (limit 2%).

Defaults: a 30-day window of the partner's policies; compliance is below target
with at least 3 flagged policies and a binomial tail below 1e-3 at a 2% rate;
deviation is the mean |applied - contracted| / contracted commission over at
least 10 policies, with at least 3 off by more than 2%. Both high.
"""
from __future__ import annotations

import orjson
import pytest

from builders import DAY, T0, advance_all, at, complaint, feed, policy_event, sale
from detectors.base import Tier
from detectors.partner_kpis import (
    PartnerComplianceConfig,
    PartnerComplianceDetector,
    PartnerContractConfig,
    PartnerContractDetector,
)
from detectors.stats import binomial_sf

CLEAN = "保障全面，请仔细阅读条款"
PHRASE = "这款产品稳赚不赔"


@pytest.fixture
def compliance() -> PartnerComplianceDetector:
    return PartnerComplianceDetector(PartnerComplianceConfig())


@pytest.fixture
def contract() -> PartnerContractDetector:
    return PartnerContractDetector(PartnerContractConfig())


def sales(n, flagged=(), start=0.0, partner="PT1", prefix="s"):
    return [sale(f"{prefix}{i}", PHRASE if i in flagged else CLEAN, t=at(start + i), policy_id=f"{prefix.upper()}P{i}",
                 partner_id=partner) for i in range(n)]


def mis_selling(event_id, hours, policy_id, partner="PT1"):
    return complaint(event_id, t=at(hours), policy_id=policy_id, partner_id=partner, category="mis_selling")


# --- compliance ------------------------------------------------------------------------
def test_three_policies_one_signal_is_not_enough(compliance):
    assert feed(compliance, sales(3, flagged={1}))[0] == []


def test_two_of_ten_is_not_enough_three_of_ten_is(compliance):
    assert feed(compliance, sales(10, flagged={7, 8}))[0] == []  # p = 0.016
    [finding] = feed(compliance, sales(10, flagged={7, 8, 9}))[0]
    assert finding.typology == "partner_compliance_rate"
    assert finding.tier is Tier.HIGH
    assert (finding.entity_type, finding.entity_id) == ("partner", "PT1")
    assert finding.evidence["policies"] == 10 and finding.evidence["flagged_policies"] == 3
    assert finding.evidence["compliance_rate"] == 0.7
    assert finding.evidence["p_value"] == pytest.approx(binomial_sf(3, 10, 0.02))
    assert finding.evidence["p_value"] == pytest.approx(8.64e-4, rel=1e-2)
    assert finding.evidence["signals"] == {"banned_phrase": 3}
    assert finding.evidence["event_ids"] == ["s7", "s8", "s9"]
    assert finding.score == 15.0  # 30% flagged against 2% allowed
    assert finding.window_start == (at(9) // (30 * DAY)) * 30 * DAY
    assert finding.summary == ("partner PT1: compliance rate 70.0% (3 of 10 policies with a mis-selling signal) "
                               "within 30 days, target 98% (p=8.6e-04)")


def test_complaints_and_unsuitable_sales_are_signals(compliance):
    events = sales(9) + [sale("u", CLEAN, t=at(9), policy_id="UP", partner_id="PT1", product_risk_level=5),
                         mis_selling("k1", 10, "SP1"), mis_selling("k2", 11, "SP2")]
    [finding] = feed(compliance, events)[0]
    assert finding.evidence["signals"] == {"mis_selling_complaint": 2, "unsuitable_sale": 1}
    assert finding.event_time == at(11)


def test_a_complaint_about_an_old_policy_does_not_count(compliance):
    # Policies sold before the window are not the window's sales.
    events = sales(10) + [mis_selling(f"k{i}", 20 + i, f"OLD{i}") for i in range(5)]
    assert feed(compliance, events)[0] == []


def test_a_complaint_before_its_sale_counts_when_the_sale_arrives(compliance):
    events = [mis_selling("k1", 0, "SP7"), mis_selling("k2", 0.5, "SP8")] + sales(10, flagged={9})
    [finding] = feed(compliance, events)[0]
    assert finding.evidence["flagged_policies"] == 3 and finding.event_time == at(9)


def test_flagged_once_per_breach_and_again_after_recovering(compliance):
    found, states = feed(compliance, sales(10, flagged={7, 8, 9}))
    assert len(found) == 1
    assert feed(compliance, sales(3, flagged={0, 1, 2}, start=20, prefix="t"), states)[0] == []
    # 200 clean sales bring it back within target (6 of 213: p = 0.26) ...
    assert feed(compliance, sales(200, start=30, prefix="u"), states)[0] == []
    # ... and a new run of signals is a new breach: at 13 of 220, p = 5.6e-4.
    [again] = feed(compliance, sales(8, flagged=set(range(8)), start=300, prefix="v"), states)[0]
    assert (again.evidence["flagged_policies"], again.evidence["policies"]) == (13, 220)


def test_policies_leave_the_window_after_30_days(compliance):
    _, states = feed(compliance, sales(10, flagged={7, 8, 9}))
    advance_all(compliance, states, at(9) + 30 * DAY + 1)
    assert states == {}


def test_restart_and_duplicates(compliance):
    events = sales(10, flagged={7, 8, 9})
    found, states = feed(compliance, events[:5])
    restored = orjson.loads(orjson.dumps(states))
    assert len(feed(compliance, events[5:] + events, restored)[0]) == 1


def test_signals_can_be_switched_off():
    det = PartnerComplianceDetector(PartnerComplianceConfig(signals=["mis_selling_complaint"]))
    assert feed(det, sales(10, flagged={7, 8, 9}))[0] == []
    with pytest.raises(ValueError, match="unknown signals"):
        PartnerComplianceConfig(signals=["gossip"])


# --- contract --------------------------------------------------------------------------
def issued(event_id, hours, applied, contracted=0.25, partner="PT1"):
    return policy_event(event_id, "policy_issued", t=at(hours), policy_id=f"P-{event_id}", partner_id=partner,
                        commission_rate=applied, contract_commission_rate=contracted)


def test_mean_deviation_over_two_percent_on_ten_policies(contract):
    # Four of ten at 0.28 against 0.25: each 12% off, the mean 4.8%.
    events = [issued(f"e{i}", i, 0.28 if i < 4 else 0.25) for i in range(10)]
    found = [feed(contract, events[: i + 1])[0] for i in range(10)]
    assert [len(f) for f in found] == [0] * 9 + [1]
    finding = found[9][0]
    assert finding.typology == "partner_contract_deviation"
    assert finding.tier is Tier.HIGH
    assert finding.evidence["mean_deviation"] == 0.048
    assert finding.evidence["off_contract"] == 4 and finding.evidence["policies"] == 10
    assert finding.evidence["event_ids"] == ["e0", "e1", "e2", "e3", "e9"]
    assert finding.score == 2.4
    assert finding.summary == ("partner PT1: commission deviates from contract by 4.8% on average over 10 policies "
                               "(4 off contract by more than 2%) within 30 days")


def test_two_odd_policies_or_small_deviations_do_not_fire(contract):
    # Two at 0.28: mean 2.4%, but only two policies off contract.
    assert feed(contract, [issued(f"e{i}", i, 0.28 if i < 2 else 0.25) for i in range(10)])[0] == []
    # All within 1.2%: 0.253 against 0.25.
    assert feed(contract, [issued(f"e{i}", i, 0.253) for i in range(20)])[0] == []


def test_the_configured_contract_rate_stands_in():
    det = PartnerContractDetector(PartnerContractConfig(contract_commission_rates={"PT1": 0.25}))
    events = [policy_event(f"e{i}", "policy_issued", t=at(i), policy_id=f"P{i}", partner_id="PT1",
                           commission_rate=0.30) for i in range(10)]
    [finding] = feed(det, events)[0]
    assert finding.evidence["mean_deviation"] == 0.2
    # Without a contract rate anywhere, the policy is not judged.
    assert PartnerContractDetector(PartnerContractConfig()).key(events[0]) is None


def test_contract_state_leaves_the_window(contract):
    _, states = feed(contract, [issued("e0", 0, 0.3)])
    advance_all(contract, states, T0 + 31 * DAY)
    assert states == {}
