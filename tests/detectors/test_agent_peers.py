"""Agents against their branch peers: four rates, one statistical core.

Defaults: window 30 days, p < 1e-4 (high below 1e-8), at least 3 events and
10 policies (callbacks), rate at least twice the peer rate, prior weight 200,
concentration 100, early surrender within 730 days; prior rates 3% (cooling
off), 2% (early surrender), 5% (callback failure), 2% (complaints).

The figures: with no peers the peer rate is the prior, 0.03, and the test is
a beta-binomial with a = 0.03 x 100 = 3, b = 97; whole numbers, so the tail is
worked out exactly below from factorials. With a peer of 100 policies and 6
cancellations, the peer rate is (6 + 0.03 x 200) / (100 + 200) = 0.04: a = 4,
b = 96.
"""
from __future__ import annotations

import math
from fractions import Fraction

import orjson
import pytest

from builders import DAY, HOUR, T0, complaint, feed, policy_event
from detectors.agent_peers import (
    AgentPeerConfig,
    CallbackFailureOutlier,
    ComplaintRateOutlier,
    CoolingOffOutlier,
    EarlySurrenderOutlier,
)
from detectors.base import Tier


def tail(k: int, n: int, a: int, b: int) -> float:
    """P(X >= k), X ~ BetaBinomial(n, a, b), from B(x, y) = (x-1)! (y-1)! / (x+y-1)!."""
    def beta(x: int, y: int) -> Fraction:
        return Fraction(math.factorial(x - 1) * math.factorial(y - 1), math.factorial(x + y - 1))
    return float(sum(math.comb(n, i) * beta(i + a, n - i + b) / beta(a, b) for i in range(k, n + 1)))


@pytest.fixture
def cooling() -> CoolingOffOutlier:
    return CoolingOffOutlier(AgentPeerConfig())


def sales(agent: str, n: int, start: float = T0, branch: str = "B1", prefix: str = "") -> list:
    return [policy_event(f"{prefix}s-{agent}-{i}", "sale_recorded", t=start + i * 60, agent_id=agent,
                         branch_id=branch, policy_id=f"P-{agent}-{i}") for i in range(n)]


def events(kind: str, agent: str, n: int, start: float = T0 + HOUR, prefix: str = "", **extra) -> list:
    return [policy_event(f"{prefix}{kind}-{agent}-{i}", kind, t=start + i * 60, agent_id=agent, branch_id="B1",
                         policy_id=f"Q-{agent}-{i}", **extra) for i in range(n)]


def per_event(detector, stream, states=None):
    states = {} if states is None else states
    return [feed(detector, [e], states)[0] for e in stream]


def test_seven_cancellations_in_twenty_sales_fire_at_the_seventh(cooling):
    # p(6 of 20) = 2.50e-4 is not below 1e-4; p(7 of 20) = 4.02e-5 is.
    assert tail(6, 20, 3, 97) == pytest.approx(2.496992e-4, rel=1e-6)
    assert tail(7, 20, 3, 97) == pytest.approx(4.018554e-5, rel=1e-6)
    out = per_event(cooling, sales("A1", 20) + events("cooling_off_cancelled", "A1", 8))
    assert [i for i, found in enumerate(out) if found] == [26]  # the 7th cancellation
    [finding] = out[26]
    assert (finding.typology, finding.tier, finding.entity_type, finding.entity_id, finding.branch_id) == (
        "agent_outlier_cooling_off", Tier.MEDIUM, "agent", "A1", "B1")
    assert finding.window_start == T0 + HOUR  # the first cancellation in the window
    ev = finding.evidence
    assert (ev["events"], ev["exposure"], ev["rate"], ev["peer_agents"], ev["peer_rate"]) == (7, 20, 0.35, 0, 0.03)
    assert ev["p_value"] == pytest.approx(tail(7, 20, 3, 97), rel=1e-9)
    assert ev["event_ids"] == [f"cooling_off_cancelled-A1-{i}" for i in range(7)]
    assert finding.score == pytest.approx(0.35 / 0.03)


def test_the_peer_rate_pools_the_branch_with_the_prior(cooling):
    # Peer B: 100 sales, 6 cancellations -> peer rate 0.04; A: 7 in 20, p = 1.20e-4: not yet;
    # 8 in 20, p = 1.95e-5: out of line.
    peer = sales("B", 100) + events("cooling_off_cancelled", "B", 6)
    states: dict = {}
    feed(cooling, peer, states)
    out = per_event(cooling, sales("A1", 20) + events("cooling_off_cancelled", "A1", 8), states)
    [finding] = out[-1]
    assert not any(out[:-1])
    ev = finding.evidence
    assert (ev["peer_agents"], ev["peer_events"], ev["peer_exposure"], ev["peer_rate"]) == (1, 6, 100, 0.04)
    assert ev["p_value"] == pytest.approx(tail(8, 20, 4, 96), rel=1e-9)
    assert tail(7, 20, 4, 96) > 1e-4


def test_small_samples_never_fire(cooling):
    # Every cancelled, but too few policies; or many policies but only two events.
    assert feed(cooling, sales("A1", 9) + events("cooling_off_cancelled", "A1", 9))[0] == []
    assert feed(cooling, sales("A1", 10) + events("cooling_off_cancelled", "A1", 2))[0] == []


@pytest.mark.parametrize("ratio, fires", [(11.0, True), (12.0, False)])
def test_the_rate_must_also_be_a_multiple_of_the_peer_rate(ratio, fires):
    # 7 in 20 (p = 4.0e-5) is 0.35 / 0.03 = 11.7 times the peer rate.
    detector = CoolingOffOutlier(AgentPeerConfig(min_rate_ratio=ratio))
    assert bool(feed(detector, sales("A1", 20) + events("cooling_off_cancelled", "A1", 7))[0]) is fires


def test_raised_to_high_once_in_the_same_window(cooling):
    # p(11 of 20) = 1.06e-8, p(12 of 20) = 1.05e-9: high from the 12th cancellation.
    out = per_event(cooling, sales("A1", 20) + events("cooling_off_cancelled", "A1", 14))
    fired = [(i, f.tier) for i, found in enumerate(out) for f in found]
    assert fired == [(26, Tier.MEDIUM), (31, Tier.HIGH)]
    assert out[26][0].window_start == out[31][0].window_start
    assert out[31][0].tier_reason.endswith("(below 1e-08)")


def test_cancellations_before_the_sales_fire_once_the_sales_arrive(cooling):
    out = per_event(cooling, events("cooling_off_cancelled", "A1", 7, start=T0) + sales("A1", 20, start=T0 + HOUR))
    fired = [i for i, found in enumerate(out) if found]
    # At the 10th sale: 7 of max(10, 7) = 10 cancelled, p far below 1e-4.
    assert fired == [16]
    assert out[16][0].evidence["exposure"] == 10
    assert out[16][0].window_start == T0


def test_duplicates_and_restart(cooling):
    stream = sales("A1", 20) + events("cooling_off_cancelled", "A1", 8)
    expected, _ = feed(cooling, stream)
    assert feed(cooling, [e for e in stream for _ in range(2)])[0] == expected
    before, states = feed(cooling, stream[:24])
    after, _ = feed(cooling, stream[24:], orjson.loads(orjson.dumps(states)))
    assert before + after == expected


def test_the_window_rolls(cooling):
    # Sales 31 days before the cancellations have left the window: no exposure, no test.
    stream = sales("A1", 20) + events("cooling_off_cancelled", "A1", 8, start=T0 + 31 * DAY)
    found, states = feed(cooling, stream)
    assert found == [] and len(states["B1"]["a"]["A1"]["n"]) == 0
    # An event older than the window before the branch's newest is not counted.
    feed(cooling, sales("A1", 1, start=T0, prefix="late-"), states)
    assert len(states["B1"]["a"]["A1"]["n"]) == 0


def test_flagged_once_per_window_then_again(cooling):
    first = sales("A1", 20) + events("cooling_off_cancelled", "A1", 8)
    later = sales("A1", 20, start=T0 + 40 * DAY, prefix="b") + events(
        "cooling_off_cancelled", "A1", 8, start=T0 + 40 * DAY + HOUR, prefix="b")
    found, _ = feed(cooling, first + later)
    assert [f.window_start for f in found] == [T0 + HOUR, T0 + 40 * DAY + HOUR]


def test_advance_drops_agents_and_the_branch(cooling):
    _, states = feed(cooling, sales("A1", 20) + events("cooling_off_cancelled", "A1", 8) + sales("B", 3))
    state, found = cooling.advance(states["B1"], T0 + 30 * DAY + HOUR)  # the sales leave the window
    assert found == [] and set(state["a"]) == {"A1"} and state["a"]["A1"]["n"] == []
    assert cooling.advance(state, T0 + 31 * DAY + HOUR) == (None, [])  # flag expired too


@pytest.mark.parametrize("age, counted", [(0, True), (730, True), (731, False), (None, False)])
def test_early_surrender_is_within_two_years_of_issue(age, counted):
    detector = EarlySurrenderOutlier(AgentPeerConfig())
    assert detector.counts(policy_event("e1", "surrendered", policy_age_days=age)) is counted


def test_early_surrenders():
    # Prior 0.02: a = 2, b = 98. p(6 of 20) = 7.1e-5.
    detector = EarlySurrenderOutlier(AgentPeerConfig())
    stream = sales("A1", 20) + events("surrendered", "A1", 6, policy_age_days=400) + events(
        "surrendered", "A1", 5, policy_age_days=2000, prefix="old-")
    [finding] = feed(detector, stream)[0]
    assert finding.typology == "agent_outlier_surrender"
    assert finding.evidence["events"] == 6
    assert finding.evidence["p_value"] == pytest.approx(tail(6, 20, 2, 98), rel=1e-9)


def test_failed_callbacks_are_callbacks_too():
    # Prior 0.05: a = 5, b = 95. After 5 completed callbacks, each failed one adds to both
    # counts: 5 of 10 gives p = 2.3e-4, 6 of 11 gives p = 3.8e-5 and fires.
    detector = CallbackFailureOutlier(AgentPeerConfig())
    stream = events("callback_completed", "A1", 5) + events("callback_failed", "A1", 8, start=T0 + 2 * HOUR)
    [finding] = feed(detector, stream)[0]
    assert finding.typology == "agent_outlier_callback_failure"
    assert (finding.evidence["events"], finding.evidence["exposure"]) == (6, 11)
    assert finding.evidence["p_value"] == pytest.approx(tail(6, 11, 5, 95), rel=1e-9)
    assert tail(5, 10, 5, 95) > 1e-4
    assert "callbacks" in finding.summary


def test_complaints_per_policy_sold():
    # Prior 0.02: 6 complaints on 20 policies, p = tail(6, 20, 2, 98) = 7.1e-5.
    detector = ComplaintRateOutlier(AgentPeerConfig())
    stream = sales("A1", 20) + [complaint(f"c{i}", t=T0 + HOUR + i, agent_id="A1", category="billing")
                                for i in range(6)]
    [finding] = feed(detector, stream)[0]
    assert (finding.typology, finding.evidence["events"]) == ("agent_outlier_complaints", 6)
    assert finding.evidence["p_value"] == pytest.approx(tail(6, 20, 2, 98), rel=1e-9)


def test_keyed_by_branch():
    detector = CoolingOffOutlier(AgentPeerConfig())
    assert detector.key(policy_event("e1", "sale_recorded", branch_id="B7")) == "B7"
    assert detector.key(policy_event("e1", "sale_recorded", agent_id=None)) is None
    # Agents of two branches are not each other's peers.
    states: dict = {}
    feed(detector, sales("B", 500, branch="B2") + events("cooling_off_cancelled", "B", 100), states)
    assert set(states) == {"B1", "B2"}


def test_validates_config():
    with pytest.raises(ValueError):
        AgentPeerConfig(p_value=1e-9, high_p_value=1e-8)
    with pytest.raises(ValueError):
        AgentPeerConfig(prior_complaint_rate=0.0)
    with pytest.raises(ValueError):
        AgentPeerConfig(min_rate_ratio=0.5)


class EvictingEveryTime(CoolingOffOutlier):
    """The detector as it was before it kept its next eviction time and the heap of its
    agents' oldest items: every event evicts from all agents of the branch (the heap built
    afresh from them), and ``due`` is computed from them."""

    def observe(self, event, state):
        if state:
            state.pop("e", None)
            state.pop("h", None)
        state, found = super().observe(event, state)
        if state:
            state.pop("e", None)
            state.pop("h", None)
        return state, found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_keeping_the_next_eviction_time_changes_nothing_found_or_kept(seed):
    """Random sales and cancellations of 30 agents over 200 days (the window is 90), out of
    order by up to a day, with duplicates: the same findings, states (but for "e" and "h")
    and due times as when every event walks the branch."""
    import random

    rng = random.Random(seed)
    stream = []
    for i in range(3000):
        t = T0 + i * 200 * DAY / 3000 + rng.uniform(-DAY, DAY)
        agent = f"A{min(rng.randrange(30), rng.randrange(30))}"  # low numbers sell (and cancel) most
        kind = "sale_recorded" if rng.random() < 0.75 else "cooling_off_cancelled"
        stream.append(policy_event(f"e{i}", kind, t=t, agent_id=agent, policy_id=f"P{i}"))
        if rng.random() < 0.05:
            stream.append(stream[rng.randrange(len(stream))])
    kept, walked = CoolingOffOutlier(AgentPeerConfig()), EvictingEveryTime(AgentPeerConfig())
    kept_state = walked_state = None
    found = 0
    for event in stream:
        kept_state, kept_found = kept.observe(event, kept_state)
        walked_state, walked_found = walked.observe(event, walked_state)
        assert kept_found == walked_found
        assert kept.due(kept_state) == walked.due(walked_state)
        assert {k: v for k, v in kept_state.items() if k not in ("e", "h")} == walked_state
        found += len(kept_found)
    assert found > 0  # the stream did raise some
    later = T0 + 400 * DAY
    assert kept.advance(kept_state, later) == walked.advance(walked_state, later) == (None, [])
