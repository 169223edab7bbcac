"""Churning: a policy ended and a new one bought through the same agent.

Defaults: window 90 days, medium, high from 2 policies replaced in one episode.
"""
from __future__ import annotations

import orjson
import pytest

from builders import DAY, HOUR, T0, feed, policy_event
from detectors.base import Tier
from detectors.churning import ChurningConfig, ChurningDetector


@pytest.fixture
def detector() -> ChurningDetector:
    return ChurningDetector(ChurningConfig())


def ended(event_id, days, policy="P-old", agent="A1", kind="surrendered"):
    return policy_event(event_id, kind, t=T0 + days * DAY, policy_id=policy, agent_id=agent, customer_id="C1")


def bought(event_id, days, policy="P-new", agent="A1", kind="sale_recorded"):
    return policy_event(event_id, kind, t=T0 + days * DAY, policy_id=policy, agent_id=agent, customer_id="C1")


def test_the_first_event_of_a_customer_raises_nothing(detector):
    state, found = detector.observe(ended("e1", 0), None)
    assert found == [] and state["o"] == [[T0, "P-old", "A1", "e1", "surrendered"]]


def test_surrender_then_a_new_policy_through_the_same_agent(detector):
    [finding] = feed(detector, [ended("e1", 0), bought("e2", 30)])[0]
    assert (finding.typology, finding.tier, finding.entity_type, finding.entity_id) == (
        "churning", Tier.MEDIUM, "customer", "C1")
    assert finding.window_start == T0 and finding.event_time == T0 + 30 * DAY
    assert finding.evidence == {
        "agent_id": "A1", "replaced_policies": ["P-old"], "ended_by": ["surrendered"], "new_policies": ["P-new"],
        "days_apart": 30.0, "window_days": 90.0, "event_ids": ["e1", "e2"],
    }
    assert finding.summary == "customer C1: P-old ended and P-new bought through agent A1 within 30 days"


def test_the_new_policy_first_then_the_surrender(detector):
    [finding] = feed(detector, [bought("e1", 0), ended("e2", 10, kind="cooling_off_cancelled")])[0]
    assert finding.evidence["ended_by"] == ["cooling_off_cancelled"]
    assert finding.window_start == T0


@pytest.mark.parametrize("gap_s, fires", [(90 * DAY, True), (90 * DAY + 1, False)])
def test_window_edge(detector, gap_s, fires):
    events = [ended("e1", 0), policy_event("e2", "sale_recorded", t=T0 + gap_s, policy_id="P-new", customer_id="C1")]
    assert bool(feed(detector, events)[0]) is fires
    assert bool(feed(detector, events[::-1])[0]) is fires


@pytest.mark.parametrize(
    "events",
    [
        [ended("e1", 0), bought("e2", 5, agent="A2")],  # another agent
        [bought("e1", 0, policy="P1"), ended("e2", 3, policy="P1", kind="cooling_off_cancelled")],  # itself
        [ended("e1", 0), ended("e2", 1, policy="P-old2")],  # nothing bought
        [bought("e1", 0), bought("e2", 0.1, kind="policy_issued")],  # nothing ended
    ],
    ids=["another_agent", "same_policy", "only_surrenders", "only_purchases"],
)
def test_look_alikes(detector, events):
    assert feed(detector, events)[0] == []


def test_sale_and_issue_of_the_new_policy_are_one_purchase(detector):
    found, _ = feed(detector, [ended("e1", 0), bought("e2", 2), bought("e3", 2.01, kind="policy_issued")])
    assert len(found) == 1 and found[0].evidence["new_policies"] == ["P-new"]


def test_a_second_replacement_raises_the_same_alert_to_high(detector):
    events = [ended("e1", 0), bought("e2", 10), ended("e3", 20, policy="P-old2"), ended("e4", 25, policy="P-old3")]
    first, second = feed(detector, events)[0]
    assert (first.tier, second.tier) == (Tier.MEDIUM, Tier.HIGH)
    assert first.window_start == second.window_start == T0
    assert second.evidence["replaced_policies"] == ["P-old", "P-old2"]
    assert second.tier_reason == "2 policies replaced through one agent (high from 2)"


def test_duplicates_and_restart(detector):
    events = [ended("e1", 0), bought("e2", 10), ended("e3", 20, policy="P-old2")]
    expected, _ = feed(detector, events)
    assert feed(detector, [e for e in events for _ in range(2)])[0] == expected
    before, states = feed(detector, events[:1])
    after, _ = feed(detector, events[1:], orjson.loads(orjson.dumps(states)))
    assert before + after == expected


def test_out_of_order_arrival(detector):
    events = [ended("e1", 0), bought("e2", 10)]
    assert [f.window_start for f in feed(detector, events[::-1])[0]] == [T0]


def test_an_event_older_than_the_window_before_the_newest_is_ignored(detector):
    state = feed(detector, [bought("e1", 100)])[1]
    found, state = feed(detector, [ended("e2", 9)], state)
    assert found == [] and state["C1"]["o"] == []


def test_advance_forgets_the_customer(detector):
    _, states = feed(detector, [ended("e1", 0), bought("e2", 10)])
    state, _ = detector.advance(states["C1"], T0 + 100 * DAY)  # purchases kept until 90 days after them
    assert state["o"] == [] and [i[3] for i in state["i"]] == ["e2"]
    state, _ = detector.advance(state, T0 + 10 * DAY + 180 * DAY + HOUR)  # episode forgotten 2 windows on
    assert state is None


def test_validates_config():
    with pytest.raises(ValueError):
        ChurningConfig(window_s=0)
    with pytest.raises(ValueError):
        ChurningConfig(tier="purple")
