"""Structuring: cash payments just under 50,000 CNY within 72 h, per payer account.

Defaults: band 20% (40,000 <= amount < 50,000), window 72 h, three payments
summing to 50,000 or more fire (high), five in one episode are critical.
"""
from __future__ import annotations

import orjson
import pytest

from builders import HOUR, T0, at, feed, payment
from detectors.base import Tier
from detectors.structuring import CustomerStructuringDetector, StructuringConfig, StructuringDetector

WINDOW = 72 * HOUR


@pytest.fixture
def detector() -> StructuringDetector:
    return StructuringDetector(StructuringConfig())


def per_event(detector, events, states=None):
    """Findings of each event in turn (a list per event)."""
    states = {} if states is None else states
    return [feed(detector, [e], states)[0] for e in events]


def payments(*amount_hours, account="ACC1"):
    return [payment(f"p{i + 1}", amount, t=at(hours), account=account) for i, (amount, hours) in enumerate(amount_hours)]


@pytest.mark.parametrize(
    "third, fires",
    [(40_000.0, True), (49_999.99, True), (39_999.99, False), (50_000.0, False)],
)
def test_band_edges(detector, third, fires):
    found, _ = feed(detector, payments((45_000.0, 0), (45_000.0, 1), (third, 2)))
    assert len(found) == (1 if fires else 0)
    if fires:
        assert found[0].evidence["total_cny"] == round(90_000.0 + third, 2)


def test_two_payments_do_not_fire_three_fire_once(detector):
    events = payments((45_000.0, 0), (46_000.0, 10), (47_000.0, 20))
    first, second, third = per_event(detector, events)
    assert first == second == []
    [finding] = third
    assert finding.tier is Tier.HIGH
    assert finding.tier_reason == "3 near-threshold payments summing past the threshold"
    assert (finding.entity_type, finding.entity_id) == ("account", "ACC1")
    assert finding.window_start == T0  # T0 is a whole number of 72 h windows
    assert finding.event_time == at(20)
    assert finding.score == pytest.approx(138_000 / 50_000)  # 2.76
    assert finding.summary == (
        "account ACC1: 3 cash payments just under 50,000 CNY within 72 h, total 138,000.00 CNY"
    )
    assert finding.evidence == {
        "channel": "cash",
        "threshold_cny": 50_000.0,
        "payments": 3,
        "total_cny": 138_000.0,
        "amounts_cny": [45_000.0, 46_000.0, 47_000.0],
        "first_time": T0,
        "last_time": at(20),
        "customer_id": "C1",
        "event_ids": ["p1", "p2", "p3"],
    }


def test_fourth_payment_in_the_episode_does_not_fire_again(detector):
    found = per_event(detector, payments((45_000.0, 0), (45_000.0, 1), (45_000.0, 2), (45_000.0, 30)))
    assert [len(f) for f in found] == [0, 0, 1, 0]


def test_window_is_72_hours_inclusive(detector):
    assert len(feed(detector, payments((45_000.0, 0), (45_000.0, 36), (45_000.0, 72)))[0]) == 1


def test_one_second_past_72_hours_is_a_new_window(detector):
    # 0 h and 72 h + 1 s are 259,201 s apart: no three payments within 72 h.
    events = payments((45_000.0, 0), (45_000.0, 36), (45_000.0, 72 + 1 / 3600))
    assert feed(detector, events)[0] == []


def test_fifth_payment_raises_the_same_alert_to_critical(detector):
    events = payments((45_000.0, 0), (45_000.0, 6), (45_000.0, 12), (45_000.0, 18), (45_000.0, 24), (45_000.0, 30))
    found = per_event(detector, events)
    assert [len(f) for f in found] == [0, 0, 1, 0, 1, 0]
    high, critical = found[2][0], found[4][0]
    assert (high.tier, critical.tier) == (Tier.HIGH, Tier.CRITICAL)
    assert critical.tier_reason == "5 near-threshold payments (critical from 5)"
    assert critical.window_start == high.window_start == T0  # the same alert id
    assert critical.evidence["payments"] == 5
    assert critical.evidence["total_cny"] == 225_000.0
    assert critical.evidence["event_ids"] == ["p1", "p2", "p3", "p4", "p5"]


def test_critical_at_once_when_the_episode_is_first_seen_with_five():
    det = StructuringDetector(StructuringConfig(min_payments=5))
    events = payments(*[(45_000.0, h) for h in (0, 1, 2, 3, 4, 5)])
    found = per_event(det, events)
    assert [len(f) for f in found] == [0, 0, 0, 0, 1, 0]
    assert found[4][0].tier is Tier.CRITICAL


def test_non_cash_channels_are_not_checked(detector):
    transfer = payment("p1", 45_000.0, channel="bank_transfer")
    assert detector.key(transfer) is None
    assert detector.observe(transfer, None) == (None, [])
    events = [payment(f"p{i}", 45_000.0, t=at(i), channel="bank_transfer") for i in range(5)]
    assert feed(detector, events) == ([], {})


def test_a_configured_channel_has_its_own_threshold():
    det = StructuringDetector(StructuringConfig(thresholds_cny={"cash": 50_000.0, "bank_transfer": 200_000.0}))
    events = [payment(f"p{i}", 170_000.0, t=at(i), channel="bank_transfer") for i in range(3)]
    [finding] = feed(det, events)[0]
    assert finding.evidence["threshold_cny"] == 200_000.0
    assert finding.score == pytest.approx(510_000 / 200_000)


def test_state_restored_mid_episode_gives_the_same_findings(detector):
    events = payments(*[(45_000.0, h) for h in (0, 6, 12, 18, 24)])
    uninterrupted = feed(detector, events)[0]
    for cut in (2, 4):  # before the first alert, and between the alert and its escalation
        before, states = feed(detector, events[:cut])
        restored = orjson.loads(orjson.dumps(states))
        assert before + feed(detector, events[cut:], restored)[0] == uninterrupted


def test_a_duplicate_payment_is_counted_once(detector):
    p1, p2 = payments((45_000.0, 0), (45_000.0, 1))
    found, states = feed(detector, [p1, p1, p2])
    assert found == []
    assert len(states["ACC1"]["p"]) == 2


def test_accounts_are_separate(detector):
    events = payments((45_000.0, 0), (45_000.0, 1)) + [payment("q1", 45_000.0, t=at(2), account="ACC2")]
    assert feed(detector, events)[0] == []


def test_a_late_payment_of_a_flagged_episode_does_not_fire_again(detector):
    events = payments((45_000.0, 10), (45_000.0, 11), (45_000.0, 12), (45_000.0, 5))
    assert [len(f) for f in per_event(detector, events)] == [0, 0, 1, 0]


def test_a_later_episode_fires_with_its_own_window(detector):
    events = payments(*[(45_000.0, h) for h in (0, 1, 2, 100, 101, 102)])
    found = feed(detector, events)[0]
    assert [f.window_start for f in found] == [T0, T0 + WINDOW]  # 100 h lies in the second 72 h window
    assert found[1].evidence["event_ids"] == ["p4", "p5", "p6"]


def test_advance_drops_state_two_windows_after_the_last_payment(detector):
    _, states = feed(detector, payments((45_000.0, 0), (45_000.0, 1), (45_000.0, 2)))
    state = states["ACC1"]
    kept, found = detector.advance(state, at(2) + 2 * WINDOW)
    assert found == []
    assert [p[2] for p in kept["p"]] == ["p3"]  # 0 h and 1 h are older than the horizon (2 h)
    assert detector.advance(kept, at(2) + 2 * WINDOW + 1) == (None, [])
    assert detector.advance(None, at(0)) == (None, [])


@pytest.mark.parametrize(
    "overrides",
    [
        {"band": 0.0},
        {"band": 1.0},
        {"window_s": 0.0},
        {"min_payments": 1},
        {"tier": "purple"},
        {"thresholds_cny": {"cash": "50000"}},
        {"thresholds_cny": {"cash": -1.0}},
        {"thresholds_cny": {"cash": True}},
    ],
)
def test_config_rejects_values_that_cannot_work(overrides):
    with pytest.raises(ValueError):
        StructuringConfig(**overrides)


def test_config_thresholds_are_floats():
    assert StructuringConfig(thresholds_cny={"cash": 50_000}).thresholds_cny == {"cash": 50_000.0}


# --- per customer -------------------------------------------------------------------
def from_accounts(*account_hours, customer="C1"):
    return [payment(f"p{i + 1}", 45_000.0 + i, t=at(hours), account=account, customer_id=customer)
            for i, (account, hours) in enumerate(account_hours)]


def test_a_customer_spreading_payments_over_accounts():
    detector = CustomerStructuringDetector(StructuringConfig())
    states: dict = {}
    per_event = [feed(detector, [e], states)[0]
                 for e in from_accounts(("A", 0), ("B", 10), ("C", 20), ("A", 30), ("B", 40))]
    assert [[f.tier for f in found] for found in per_event] == [[], [], [Tier.HIGH], [], [Tier.CRITICAL]]
    high, critical = per_event[2][0], per_event[4][0]
    assert (high.entity_type, high.entity_id, high.window_start) == ("customer", "C1", T0)
    assert critical.window_start == T0  # the same alert, raised
    assert high.summary == "customer C1: 3 cash payments just under 50,000 CNY within 72 h, total 135,003.00 CNY"
    assert high.evidence["account_ids"] == ["A", "B", "C"]
    assert high.evidence["event_ids"] == ["p1", "p2", "p3"]


def test_the_customer_variant_leaves_one_accounts_episode_to_the_account_detector():
    detector = CustomerStructuringDetector(StructuringConfig())
    # One account: the per-account detector's alert, not a second one per customer.
    assert feed(detector, from_accounts(("A", 0), ("A", 10), ("A", 20)))[0] == []
    # Three from one account, then one from another: the account holds min_payments, still not ours.
    assert feed(detector, from_accounts(("A", 0), ("A", 5), ("A", 10), ("B", 20)))[0] == []
    # The documented overlap: A, B, A fire per customer before A's third payment fires per account.
    [finding], _ = feed(detector, from_accounts(("A", 0), ("B", 5), ("A", 10), ("A", 20)))
    assert finding.evidence["event_ids"] == ["p1", "p2", "p3"]
    # A customer with fewer than two accounts per the config never fires.
    single = CustomerStructuringDetector(StructuringConfig(min_accounts_per_customer=3))
    assert feed(single, from_accounts(("A", 0), ("B", 10), ("A", 20), ("B", 30)))[0] == []
    with pytest.raises(ValueError):
        StructuringConfig(min_accounts_per_customer=1)


def test_the_account_detector_is_unchanged_by_the_customer_variant(detector):
    found, _ = feed(detector, from_accounts(("A", 0), ("B", 10), ("C", 20)))
    assert found == []
    [finding], _ = feed(detector, from_accounts(("A", 0), ("A", 10), ("A", 20)))
    assert "account_ids" not in finding.evidence and finding.entity_id == "A"
