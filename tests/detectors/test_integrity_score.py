"""The agent integrity score, with the shipped rule book.

Defaults: start 100, threshold 60 (below 60 is high, a second crossing within
365 days critical); deductions banned phrase 20, unsuitable sale 15,
mis-selling complaint 15, cooling-off cancellation 5, failed callback 2,
confirmed alert 30; each deduction lapses after 365 days.
"""
from __future__ import annotations

import orjson
import pytest

from builders import DAY, HOUR, T0, complaint, feed, policy_event, sale
from detectors.base import Tier
from detectors.events import Event
from detectors.integrity_score import IntegrityScoreConfig, IntegrityScoreDetector, load_integrity_rules

PHRASE = "这款产品稳赚不赔"


@pytest.fixture
def detector() -> IntegrityScoreDetector:
    return IntegrityScoreDetector(IntegrityScoreConfig())


def phrase_sale(event_id, days=0.0, policy=None, **extra):
    return sale(event_id, PHRASE, t=T0 + days * DAY, policy_id=policy or f"P-{event_id}", **extra)


def failed_callback(event_id, days=0.0, policy="P9"):
    return policy_event(event_id, "callback_failed", t=T0 + days * DAY, policy_id=policy)


def cooling_off(event_id, days=0.0, policy=None):
    return policy_event(event_id, "cooling_off_cancelled", t=T0 + days * DAY, policy_id=policy or f"P-{event_id}")


def confirmed(event_id, days=0.0, typology="misleading_sales_phrase"):
    return Event(event_id, "alert_confirmed", "complaint", T0 + days * DAY, agent_id="A1", typology=typology)


def score_after(detector, events) -> float:
    return detector.score(feed(detector, events)[1].get("A1"))


@pytest.mark.parametrize(
    "events, score",
    [
        ([], 100.0),
        ([phrase_sale("s1")], 80.0),
        ([sale("s1", None, premium=100_000.0)], 85.0),  # half the income: unsuitable
        ([sale("s1", PHRASE, product_risk_level=5)], 65.0),  # both signals of one sale: 20 + 15
        ([sale("s1", "这款产品不保证收益")], 100.0),  # a negated phrase is a disclosure
        ([complaint("c1")], 85.0),
        ([complaint("c1", category="billing")], 100.0),
        ([cooling_off("x1")], 95.0),
        ([failed_callback("f1"), failed_callback("f2")], 98.0),  # the same policy: once
        ([failed_callback("f1"), failed_callback("f2", policy="P8")], 96.0),
        ([confirmed("k1")], 70.0),
        ([confirmed("k1", typology="integrity_below_threshold")], 100.0),  # no feedback loop
    ],
)
def test_deductions(detector, events, score):
    assert score_after(detector, events) == score


def test_exactly_60_is_not_below_60(detector):
    found, states = feed(detector, [phrase_sale("s1"), phrase_sale("s2")])
    assert found == [] and detector.score(states["A1"]) == 60.0
    [finding] = feed(detector, [failed_callback("f1", days=1)], states)[0]
    assert finding.evidence["score"] == 58.0


def test_the_alert_shows_how_the_score_was_made(detector):
    events = [phrase_sale("s1"), cooling_off("x1", days=1), phrase_sale("s2", days=2), complaint("c1", t=T0 + 3 * DAY)]
    states: dict = {}
    out = [feed(detector, [e], states)[0] for e in events]
    assert [len(found) for found in out] == [0, 0, 1, 0]  # 80, 75, 55: below at the third; 40: still below
    [finding] = out[2]
    assert (finding.typology, finding.tier, finding.entity_type, finding.entity_id) == (
        "integrity_below_threshold", Tier.HIGH, "agent", "A1")
    assert finding.window_start == T0 and finding.score == 55.0
    assert finding.evidence["deductions"] == [
        {"signal": "banned_phrase", "points": 20.0, "subject": "P-s1", "time": T0, "event_id": "s1"},
        {"signal": "cooling_off_cancelled", "points": 5.0, "subject": "P-x1", "time": T0 + DAY, "event_id": "x1"},
        {"signal": "banned_phrase", "points": 20.0, "subject": "P-s2", "time": T0 + 2 * DAY, "event_id": "s2"},
    ]
    assert finding.summary == "agent A1: integrity score 55 below 60 (2 banned phrase, 1 cooling off cancelled)"
    assert finding.tier_reason == "score 55 below 60: selling restricted"


def test_flagged_once_while_below(detector):
    events = [phrase_sale(f"s{i}", days=i) for i in range(5)]
    found, states = feed(detector, events)
    assert [f.event_time for f in found] == [T0 + 2 * DAY] and detector.score(states["A1"]) == 0.0


def test_recovery_and_a_second_crossing_within_a_year_is_critical(detector):
    states: dict = {}
    feed(detector, [phrase_sale("s1", days=0)], states)
    [first] = feed(detector, [phrase_sale("s2", days=200), phrase_sale("s3", days=200.1)], states)[0]
    assert first.tier == Tier.HIGH and first.evidence["score"] == 40.0
    # Day 366: the first deduction lapses, the score is back to 60: recovered.
    detector.advance(states["A1"], T0 + 366 * DAY)
    assert detector.score(states["A1"]) == 60.0 and states["A1"]["b"] is False
    [second] = feed(detector, [cooling_off("x1", days=370)], states)[0]
    assert second.tier == Tier.CRITICAL and second.evidence["crossings"] == 2
    assert second.window_start == T0 + 200 * DAY  # the oldest live deduction: a new alert
    assert second.tier_reason == "below 60 for the second time within 365 days: removal"


def test_a_crossing_after_the_memory_is_a_first_crossing_again(detector):
    states: dict = {}
    feed(detector, [phrase_sale(f"s{i}", days=0.1 * i) for i in range(3)], states)
    [again] = feed(detector, [phrase_sale(f"t{i}", days=400 + 0.1 * i) for i in range(3)], states)[0]
    assert again.tier == Tier.HIGH and again.evidence["crossings"] == 1


def test_duplicates_out_of_order_and_restart(detector):
    events = [phrase_sale("s1"), cooling_off("x1", days=1), phrase_sale("s2", days=2)]
    expected, _ = feed(detector, events)
    assert feed(detector, [e for e in events for _ in range(2)])[0] == expected
    assert [f.window_start for f in feed(detector, events[::-1])[0]] == [T0]
    before, states = feed(detector, events[:2])
    after, _ = feed(detector, events[2:], orjson.loads(orjson.dumps(states)))
    assert before + after == expected


def test_a_deduction_older_than_its_lifetime_is_ignored(detector):
    states = feed(detector, [cooling_off("x1", days=400)])[1]
    feed(detector, [phrase_sale("s1", days=10)], states)
    assert detector.score(states["A1"]) == 95.0


def test_advance_forgets_the_agent(detector):
    _, states = feed(detector, [phrase_sale(f"s{i}") for i in range(3)])
    state, found = detector.advance(states["A1"], T0 + 365 * DAY)
    assert found == [] and detector.score(state) == 40.0
    assert detector.advance(state, T0 + 365 * DAY + HOUR) == (None, [])


def test_events_of_no_consequence_keep_no_state(detector):
    assert detector.observe(sale("s1", "保障全面"), None) == (None, [])
    assert detector.observe(complaint("c1", category="billing"), None) == (None, [])


def test_rule_book_from_another_file(tmp_path):
    rules = load_integrity_rules()
    rules["threshold"] = 90
    rules["deductions"]["callback_failed"]["points"] = 11
    path = tmp_path / "rules.json"
    path.write_bytes(orjson.dumps(rules))
    detector = IntegrityScoreDetector(IntegrityScoreConfig(rules_file=str(path)))
    [finding] = feed(detector, [failed_callback("f1")])[0]
    assert finding.evidence["score"] == 89.0 and finding.evidence["threshold"] == 90


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: r.update(threshold=120), "threshold must not be above start_score"),
        (lambda r: r["deductions"].pop("callback_failed"), "deductions must list exactly"),
        (lambda r: r["deductions"]["banned_phrase"].update(points=-5), "banned_phrase.points"),
        (lambda r: r.update(deduction_lifetime_days=0), "deduction_lifetime_days"),
    ],
)
def test_a_broken_rule_book_is_refused(tmp_path, change, message):
    rules = load_integrity_rules()
    change(rules)
    path = tmp_path / "rules.json"
    path.write_bytes(orjson.dumps(rules))
    with pytest.raises(ValueError, match=message):
        load_integrity_rules(str(path))
