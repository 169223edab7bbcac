"""Complaint handling deadline: a complaint not resolved in time.

Defaults: 15 days (1,296,000 s) after filing, unless the complaint system sets
``deadline_hours`` on ``complaint_filed``, or a category has its own deadline;
medium, high for mis-selling complaints; a resolution at the deadline is in time.
"""
from __future__ import annotations

import orjson
import pytest

from builders import DAY, HOUR, T0, advance_all, at, complaint, feed
from detectors.base import Tier
from detectors.complaint_deadline import ComplaintDeadlineConfig, ComplaintDeadlineDetector
from detectors.events import Event


@pytest.fixture
def detector() -> ComplaintDeadlineDetector:
    return ComplaintDeadlineDetector(ComplaintDeadlineConfig())


def filed(event_id="k1", hours=0.0, category="billing", complaint_id="K1", **extra):
    return complaint(event_id, t=at(hours), complaint_id=complaint_id, category=category, partner_id="PT1", **extra)


def resolved(event_id, hours, complaint_id="K1"):
    return Event(event_id, "complaint_resolved", "complaint", at(hours), complaint_id=complaint_id, customer_id="C1")


def test_default_deadline_is_fifteen_days(detector):
    _, states = feed(detector, [filed()])
    assert advance_all(detector, states, T0 + 15 * DAY - 1) == []
    [finding] = advance_all(detector, states, T0 + 15 * DAY)
    assert finding.typology == "complaint_overdue"
    assert finding.tier is Tier.MEDIUM
    assert (finding.entity_type, finding.entity_id) == ("complaint", "K1")
    assert finding.window_start == T0 and finding.event_time == T0 + 15 * DAY
    assert finding.evidence["deadline_hours"] == 360.0
    assert finding.evidence["deadline_source"] == "default"
    assert finding.evidence["event_ids"] == ["k1"]
    assert finding.score == 1.0
    assert finding.summary == "complaint K1 (billing, agent A1): not resolved, deadline 360 h (default)"


def test_the_complaint_system_deadline_comes_first(detector):
    _, states = feed(detector, [filed(deadline_hours=4.0)])
    assert advance_all(detector, states, at(3.99)) == []
    [finding] = advance_all(detector, states, at(4))
    assert finding.evidence["deadline_source"] == "complaint system"
    assert finding.event_time == at(4)


def test_a_category_deadline_applies_where_the_event_sets_none():
    det = ComplaintDeadlineDetector(ComplaintDeadlineConfig(deadline_by_category_s={"claims_service": 5 * DAY}))
    _, states = feed(det, [filed(category="claims_service"), filed("k2", 0, "billing", "K2")])
    [finding] = advance_all(det, states, T0 + 5 * DAY)
    assert finding.entity_id == "K1" and finding.evidence["deadline_source"] == "category claims_service"
    # Without use_event_deadline the event's hours are ignored.
    det = ComplaintDeadlineDetector(ComplaintDeadlineConfig(use_event_deadline=False))
    _, states = feed(det, [filed(deadline_hours=4.0)])
    assert advance_all(det, states, at(5)) == []


def test_resolved_just_before_or_at_the_deadline_is_in_time(detector):
    for hours in (4 - 1 / 60, 4.0):
        _, states = feed(detector, [filed(deadline_hours=4.0), resolved("r1", hours)])
        assert advance_all(detector, states, at(400)) == []


def test_resolved_late_fires_when_the_resolution_arrives(detector):
    [finding] = feed(detector, [filed(deadline_hours=4.0), resolved("r1", 5)])[0]
    assert finding.event_time == at(5) and finding.window_start == T0
    assert finding.evidence["resolved_at"] == at(5)
    assert finding.evidence["event_ids"] == ["k1", "r1"]
    assert finding.score == 1.25  # 5 h of a 4 h deadline


def test_mis_selling_complaints_overdue_are_high(detector):
    _, states = feed(detector, [filed(category="mis_selling", deadline_hours=2.0)])
    [finding] = advance_all(detector, states, at(2))
    assert finding.tier is Tier.HIGH
    assert finding.tier_reason == "mis_selling complaint past its handling deadline"


def test_out_of_order_resolution_first(detector):
    assert feed(detector, [resolved("r1", 3), filed(deadline_hours=4.0)])[0] == []
    [finding] = feed(detector, [resolved("r2", 6, "K2"), filed("k2", 0, complaint_id="K2", deadline_hours=4.0)])[0]
    assert (finding.entity_id, finding.event_time) == ("K2", T0)


def test_restart_and_duplicates(detector):
    events = [filed(deadline_hours=4.0), filed(deadline_hours=4.0)]
    _, states = feed(detector, events)
    restored = orjson.loads(orjson.dumps(states))
    assert len(advance_all(detector, restored, at(4))) == 1
    assert feed(detector, [resolved("r1", 5)], restored)[0] == []  # fired already


def test_an_overdue_complaint_is_forgotten_a_week_after_its_deadline(detector):
    _, states = feed(detector, [filed(deadline_hours=4.0)])
    advance_all(detector, states, at(4) + 7 * DAY)
    assert states
    advance_all(detector, states, at(4) + 7 * DAY + HOUR)
    assert states == {}


@pytest.mark.parametrize("overrides", [{"default_deadline_s": 0.0}, {"deadline_by_category_s": {"billing": -1}},
                                       {"tier": "purple"}])
def test_config_rejects_values_that_cannot_work(overrides):
    with pytest.raises(ValueError):
        ComplaintDeadlineConfig(**overrides)
