"""Complaint spikes per agent against the agent's own baseline.

Defaults: window 24 h, at least 3 complaints, p < 1e-4, prior 0.02 complaints
a day weighted as 30 days, retention 180 days, high from 6 complaints.

The baseline rate is (n + 0.02 x 30) / (history_days + 30) a day, where n is
the complaints that have left the window and history_days the time from the
agent's first complaint to the start of the window.
"""
from __future__ import annotations

import math
from fractions import Fraction

import orjson
import pytest

from builders import DAY, T0, at, complaint, feed
from detectors.base import Tier
from detectors.complaint_spike import ComplaintSpikeConfig, ComplaintSpikeDetector


@pytest.fixture
def detector() -> ComplaintSpikeDetector:
    return ComplaintSpikeDetector(ComplaintSpikeConfig())


def poisson_tail(k: int, mean: Fraction) -> float:
    """P(X >= k): the pmf summed exactly over 60 terms, times exp(-mean)."""
    return float(sum(mean**i / math.factorial(i) for i in range(k, k + 60))) * math.exp(-float(mean))


def complaints_at(*hours, agent="A1"):
    return [complaint(f"c{i + 1}", t=at(h), agent_id=agent) for i, h in enumerate(hours)]


def per_event(detector, events, states=None):
    states = {} if states is None else states
    return [feed(detector, [e], states)[0] for e in events]


def test_new_agent_fires_on_the_third_complaint_in_24_hours(detector):
    found = per_event(detector, complaints_at(0, 1, 2))
    assert found[0] == found[1] == []
    [finding] = found[2]
    # No history before the window: the prior alone, 0.6 / 30 = 0.02 a day.
    expected = 0.02
    assert finding.evidence["expected"] == expected
    assert finding.evidence["p_value"] == pytest.approx(poisson_tail(3, Fraction(1, 50)), rel=1e-12)
    assert finding.evidence["p_value"] == pytest.approx(1.3134924482e-06, rel=1e-9)
    assert finding.evidence["complaints"] == 3
    assert finding.evidence["event_ids"] == ["c1", "c2", "c3"]
    assert finding.score == pytest.approx(3 / expected)  # 150
    assert finding.tier is Tier.MEDIUM
    assert finding.tier_reason == "3 complaints where 0.02 were expected"
    assert (finding.entity_type, finding.entity_id) == ("agent", "A1")
    assert finding.window_start == T0
    assert finding.summary == "agent A1: 3 complaints within 24 h, 0.02 expected (p=1.3e-06)"


def test_two_complaints_do_not_fire(detector):
    assert feed(detector, complaints_at(0, 1))[0] == []


def test_the_window_is_24_hours_inclusive(detector):
    assert len(feed(detector, complaints_at(0, 12, 24))[0]) == 1
    assert feed(detector, complaints_at(0, 12, 24 + 1 / 3600))[0] == []


def test_an_agent_with_steady_complaints_needs_a_larger_burst(detector):
    # One complaint a day for 100 days (days 0..99): never 3 within 24 h.
    history = [complaint(f"d{d}", t=T0 + d * DAY) for d in range(100)]
    found, states = feed(detector, history)
    assert found == []
    # A burst on day 100, one an hour. At the k-th, all 100 daily complaints
    # have left the window (n = 100) and history_days = 99 + k/24, so
    # expected = 100.6 / (129 + k/24) ~ 0.78: P(X >= 6) = 1.6e-4, P(X >= 7) = 1.7e-5.
    burst = [complaint(f"b{k}", t=T0 + 100 * DAY + k * 3600.0) for k in range(1, 9)]
    found = per_event(detector, burst, states)
    assert [len(f) for f in found] == [0, 0, 0, 0, 0, 0, 1, 0]
    [finding] = found[6]
    expected = Fraction(1006, 10) / (129 + Fraction(7, 24))
    assert finding.evidence["expected"] == round(float(expected), 4)  # 0.7781
    assert finding.evidence["p_value"] == pytest.approx(poisson_tail(7, expected), rel=1e-9)
    assert finding.tier is Tier.HIGH  # 7 complaints: high from 6
    assert finding.window_start == T0 + 100 * DAY


def test_a_flagged_window_fires_once_and_is_raised_to_high_once(detector):
    found = per_event(detector, complaints_at(0, 1, 2, 3, 4, 5, 6))
    assert [len(f) for f in found] == [0, 0, 1, 0, 0, 1, 0]
    medium, high = found[2][0], found[5][0]
    assert (medium.tier, high.tier) == (Tier.MEDIUM, Tier.HIGH)
    assert high.tier_reason == "6 complaints in the window (high from 6)"
    assert high.window_start == medium.window_start == T0  # the same alert id
    assert high.evidence["event_ids"] == ["c1", "c2", "c3", "c4", "c5", "c6"]


def test_the_next_burst_is_judged_against_the_raised_baseline(detector):
    # After 0, 1, 2 h fired, 30..33 h is a new window. At 32 h: n = 3,
    # history_days = 8/24, expected = 3.6 / 30.333 = 0.1187, P(X >= 3) = 2.5e-4:
    # no spike. At 33 h: four complaints, expected 3.6 / 30.375 = 0.1185,
    # P(X >= 4) = 7.5e-6: a spike, in the second day's window.
    found = per_event(detector, complaints_at(0, 1, 2, 30, 31, 32, 33))
    assert [len(f) for f in found] == [0, 0, 1, 0, 0, 0, 1]
    finding = found[6][0]
    assert finding.evidence["expected"] == round(3.6 / 30.375, 4)
    assert finding.evidence["p_value"] == pytest.approx(poisson_tail(4, Fraction(36, 10) / Fraction(243, 8)), rel=1e-9)
    assert finding.window_start == T0 + DAY


def test_out_of_order_complaints_give_the_same_window(detector):
    [finding] = feed(detector, complaints_at(2, 0, 1))[0]
    assert finding.window_start == T0
    assert finding.evidence["event_ids"] == ["c2", "c3", "c1"]  # sorted by time: 0, 1, 2 h


def test_a_duplicate_complaint_is_counted_once(detector):
    c1, c2 = complaints_at(0, 1)
    found, states = feed(detector, [c1, c1, c2, c2])
    assert found == []
    assert len(states["A1"]["c"]) == 2


def test_state_restored_mid_burst_gives_the_same_findings(detector):
    events = complaints_at(0, 1, 2, 3, 4, 5)
    uninterrupted = feed(detector, events)[0]
    for cut in range(len(events) + 1):
        before, states = feed(detector, events[:cut])
        assert before + feed(detector, events[cut:], orjson.loads(orjson.dumps(states)))[0] == uninterrupted


def test_expected_blends_history_with_the_prior(detector):
    # 10 complaints over the 10 days before the window: (10 + 0.6) / (10 + 30) = 0.265 a day.
    state = {"c": [], "n": 10, "t0": T0, "l": T0, "q": None, "w": None, "h": False}
    assert detector.expected(state, T0 + 11 * DAY) == pytest.approx(0.265)


def test_an_agent_is_forgotten_after_180_quiet_days(detector):
    _, states = feed(detector, complaints_at(0))
    state = states["A1"]
    kept, found = detector.advance(state, at(0) + 180 * DAY)
    assert found == []
    assert kept["c"] == [] and kept["n"] == 1  # the complaint has left the window
    assert detector.advance(kept, at(0) + 180 * DAY + 1) == (None, [])
    assert detector.advance(None, T0) == (None, [])


@pytest.mark.parametrize(
    "overrides",
    [
        {"window_s": 0.0},
        {"min_complaints": 0},
        {"p_value": 0.0},
        {"p_value": 1.0},
        {"prior_days": 0.0},
        {"prior_daily_rate": -0.1},
        {"tier": "purple"},
    ],
)
def test_config_rejects_values_that_cannot_work(overrides):
    with pytest.raises(ValueError):
        ComplaintSpikeConfig(**overrides)


# --- branch, product and partner levels -----------------------------------------------
# Defaults: branch 0.5 complaints a day expected, 12 to fire, high from 25; product 1.0,
# 15, 30; partner 0.3, 12, 25; each agent's complaints count at most twice in the window.

from detectors.complaint_spike import (  # noqa: E402
    BRANCH_DEFAULTS,
    PARTNER_DEFAULTS,
    PRODUCT_DEFAULTS,
    BranchComplaintSpikeDetector,
    PartnerComplaintSpikeDetector,
    ProductComplaintSpikeDetector,
)


def across_agents(n, hours=1.0, **where):
    return [complaint(f"b{i}", t=at(i * hours), agent_id=f"A{i}", **where) for i in range(n)]


def test_a_branch_fires_on_the_twelfth_complaint_across_its_agents():
    det = BranchComplaintSpikeDetector(ComplaintSpikeConfig(**BRANCH_DEFAULTS))
    found = per_event(det, across_agents(13, branch_id="B7"))
    assert [len(f) for f in found] == [0] * 11 + [1, 0]
    finding = found[11][0]
    assert finding.typology == "complaint_spike_branch"
    assert (finding.entity_type, finding.entity_id) == ("branch", "B7")
    assert finding.evidence["expected"] == 0.5
    assert finding.evidence["p_value"] == pytest.approx(poisson_tail(12, Fraction(1, 2)), rel=1e-9)
    assert finding.evidence["complaints"] == 12 and finding.evidence["complaints_filed"] == 12
    assert finding.summary.startswith("branch B7: 12 complaints within 24 h, 0.50 expected")


def test_one_agents_burst_counts_twice_at_branch_level():
    det = BranchComplaintSpikeDetector(ComplaintSpikeConfig(**BRANCH_DEFAULTS))
    # Eight complaints against one agent and eight against eight others: 2 + 8 = 10 counted.
    burst = [complaint(f"x{i}", t=at(i / 4), agent_id="AX", branch_id="B7") for i in range(8)]
    assert feed(det, burst + across_agents(8, branch_id="B7"))[0] == []
    # Two more agents: 12 counted of 18 filed.
    [finding] = feed(det, burst + across_agents(10, branch_id="B7"))[0]
    assert (finding.evidence["complaints"], finding.evidence["complaints_filed"]) == (12, 18)
    assert finding.evidence["max_per_agent"] == 2


def test_product_and_partner_levels():
    product = ProductComplaintSpikeDetector(ComplaintSpikeConfig(**PRODUCT_DEFAULTS))
    found = per_event(product, across_agents(15, product_id="PD1"))
    assert [len(f) for f in found] == [0] * 14 + [1]
    assert found[14][0].evidence["expected"] == 1.0
    partner = PartnerComplaintSpikeDetector(ComplaintSpikeConfig(**PARTNER_DEFAULTS))
    [finding] = feed(partner, across_agents(12, partner_id="PT1"))[0]
    assert (finding.typology, finding.entity_id, finding.evidence["expected"]) == (
        "complaint_spike_partner", "PT1", 0.3)
    # A complaint naming no partner (a tied agent) is not routed at all.
    assert partner.key(complaint("c0")) is None


def test_level_states_round_trip_with_the_agent():
    det = BranchComplaintSpikeDetector(ComplaintSpikeConfig(**BRANCH_DEFAULTS))
    events = across_agents(12, branch_id="B7")
    uninterrupted = feed(det, events)[0]
    before, states = feed(det, events[:6])
    assert states["B7"]["c"][0] == [T0, "b0", "A0"]
    assert before + feed(det, events[6:], orjson.loads(orjson.dumps(states)))[0] == uninterrupted


def test_max_per_agent_must_not_be_negative():
    with pytest.raises(ValueError):
        ComplaintSpikeConfig(max_per_agent=-1)
