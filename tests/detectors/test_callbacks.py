"""New-policy callbacks: a failed callback at once, no successful callback 72 h after issue.

Defaults: deadline 72 h (259,200 s) after ``policy_issued``; a callback at
exactly 72 h is in time; failed callbacks are low, missing ones medium; a
decided policy is remembered 7 days.
"""
from __future__ import annotations

import orjson
import pytest

from builders import DAY, HOUR, T0, advance_all, at, feed, policy_event
from detectors.base import Tier
from detectors.callbacks import CallbackConfig, CallbackDetector


@pytest.fixture
def detector() -> CallbackDetector:
    return CallbackDetector(CallbackConfig())


def issued(event_id="i1", hours=0.0, policy_id="P1"):
    return policy_event(event_id, "policy_issued", t=at(hours), policy_id=policy_id, partner_id="PT1",
                        product_id="PR1")


def called(event_id, hours, policy_id="P1"):
    return policy_event(event_id, "callback_completed", t=at(hours), policy_id=policy_id)


def failed(event_id, hours, policy_id="P1", reason="no_answer"):
    return policy_event(event_id, "callback_failed", t=at(hours), policy_id=policy_id, callback_reason=reason)


def test_a_failed_callback_raises_an_alert_at_once(detector):
    [finding], states = feed(detector, [issued(), failed("f1", 2)])
    assert finding.typology == "callback_failed"
    assert finding.tier is Tier.LOW
    assert (finding.entity_type, finding.entity_id) == ("policy", "P1")
    assert finding.window_start == finding.event_time == at(2)
    assert finding.evidence["failed_attempts"] == 1
    assert finding.evidence["reason"] == "no_answer"
    assert finding.evidence["event_ids"] == ["f1"]
    assert finding.summary == "policy P1 (agent A1): callback failed (no_answer), attempt 1"


def test_each_failed_attempt_is_its_own_alert_and_a_success_cancels_none(detector):
    found, states = feed(detector, [issued(), failed("f1", 2), failed("f2", 5), called("c1", 8)])
    assert [(f.typology, f.window_start, f.evidence["failed_attempts"]) for f in found] == [
        ("callback_failed", at(2), 1), ("callback_failed", at(5), 2)]
    # The success at 8 h meets the deadline: no missing-callback alert when the timer passes.
    assert advance_all(detector, states, at(100)) == []


def test_no_callback_fires_when_event_time_passes_72_hours(detector):
    _, states = feed(detector, [issued()])
    assert advance_all(detector, states, at(71.99)) == []
    [finding] = advance_all(detector, states, at(72))
    assert finding.typology == "callback_missing"
    assert finding.tier is Tier.MEDIUM
    assert finding.event_time == at(72)  # the deadline, whenever the sweep runs
    assert finding.window_start == T0  # the issue: the alert's identity
    assert finding.evidence["deadline_hours"] == 72.0
    assert finding.evidence["completed_at"] is None
    assert finding.evidence["event_ids"] == ["i1"]
    assert finding.partner_id == "PT1"
    assert advance_all(detector, states, at(80)) == []  # fired once


def test_a_late_sweep_gives_the_same_finding(detector):
    _, early = feed(detector, [issued()])
    _, late = feed(detector, [issued()])
    assert advance_all(detector, early, at(72)) == advance_all(detector, late, at(90))


def test_a_callback_at_71_hours_or_exactly_72_is_in_time(detector):
    for hours in (71.0, 72.0):
        _, states = feed(detector, [issued(), called("c1", hours)])
        assert advance_all(detector, states, at(200)) == []


def test_a_callback_after_the_deadline_fires_when_it_arrives(detector):
    # The sweep has not run since 72 h: the late callback itself shows the deadline was missed.
    found, _ = feed(detector, [issued(), failed("f1", 3), called("c1", 73)])
    assert [f.typology for f in found] == ["callback_failed", "callback_missing"]
    finding = found[1]
    assert finding.event_time == at(73)
    assert finding.window_start == T0
    assert finding.evidence["completed_at"] == at(73)
    assert finding.evidence["failed_attempts"] == 1
    assert finding.evidence["event_ids"] == ["i1", "f1", "c1"]
    assert finding.summary == ("policy P1 (agent A1): callback completed 73.0 h after issue "
                               "(due 72 h after issue; 1 failed attempts)")


def test_the_timer_and_the_late_callback_raise_one_alert(detector):
    _, states = feed(detector, [issued()])
    assert len(advance_all(detector, states, at(72.5))) == 1
    assert feed(detector, [called("c1", 73)], states)[0] == []


def test_out_of_order_callback_before_its_issue(detector):
    found, states = feed(detector, [called("c1", 10), issued()])
    assert found == [] and advance_all(detector, states, at(100)) == []
    [finding] = feed(detector, [called("c2", 80, "P2"), issued("i2", 0, "P2")])[0]
    assert (finding.entity_id, finding.event_time, finding.window_start) == ("P2", T0, T0)


def test_the_earliest_issue_counts(detector):
    # A re-sent issue a day later does not move the deadline.
    _, states = feed(detector, [issued("i1", 24), issued("i0", 0)])
    [finding] = advance_all(detector, states, at(72))
    assert finding.window_start == T0


def test_duplicates_count_once(detector):
    events = [issued(), failed("f1", 2), failed("f1", 2), issued()]
    found, states = feed(detector, events)
    assert len(found) == 1
    assert feed(detector, events, states)[0] == []


def test_restart_from_serialised_state_keeps_the_timer(detector):
    _, states = feed(detector, [issued(), failed("f1", 2)])
    restored = orjson.loads(orjson.dumps(states))
    assert advance_all(detector, restored, at(72)) == advance_all(detector, states, at(72))


def test_a_callback_for_a_policy_never_seen_issued_is_forgotten(detector):
    _, states = feed(detector, [called("c1", 0)])
    assert advance_all(detector, states, at(0) + 7 * DAY) == []
    assert states  # kept 7 days, for duplicates
    assert advance_all(detector, states, at(0) + 7 * DAY + 1) == []
    assert states == {}


def test_a_decided_policy_is_dropped_after_retention(detector):
    _, states = feed(detector, [issued(), called("c1", 5)])
    advance_all(detector, states, at(72) + 7 * DAY)
    assert states
    advance_all(detector, states, at(72) + 7 * DAY + HOUR)
    assert states == {}


def test_config_rejects_values_that_cannot_work():
    with pytest.raises(ValueError):
        CallbackConfig(deadline_s=0)
    with pytest.raises(ValueError):
        CallbackConfig(missing_tier="purple")
