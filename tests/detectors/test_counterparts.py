"""Fan-out, fan-in and multiple payers: distinct counterparts within 30 days.

Defaults: fan-out and fan-in alert at 4 distinct counterparts (medium) and
raise the same alert to high at 8; multiple payers at 2 accounts besides the
policyholder's, and 4. T0 is a whole
number of 30-day windows.
"""
from __future__ import annotations

import orjson
import pytest

from builders import DAY, T0, at, feed, payment, payout
from detectors.base import Tier
from detectors.counterparts import (
    FanInConfig,
    FanInDetector,
    FanOutConfig,
    FanOutDetector,
    MultiplePayersConfig,
    MultiplePayersDetector,
)


def pays_for(event_id, hours, customer, account="ACC-9"):
    return payment(event_id, 5_000.0, t=at(hours), account=account, channel="bank_transfer",
                   policy_id=f"P-{customer}", customer_id=customer, policyholder_account_id=f"ACC-{customer}")


def tiers(found):
    return [f.tier for f in found]


def test_fan_out_medium_at_four_policyholders_high_at_eight():
    detector = FanOutDetector(FanOutConfig())
    states: dict = {}
    per_event = [feed(detector, [pays_for(f"e{i}", i, f"C{i}")], states)[0] for i in range(9)]
    assert [tiers(f) for f in per_event] == [[], [], [], [Tier.MEDIUM], [], [], [], [Tier.HIGH], []]
    medium, high = per_event[3][0], per_event[7][0]
    assert medium.window_start == high.window_start == T0
    assert (medium.entity_type, medium.entity_id) == ("account", "ACC-9")
    assert medium.summary == ("account ACC-9: paid premiums for 4 distinct policyholders other than its own "
                              "within 30 days")
    assert medium.evidence["policyholders"] == ["C0", "C1", "C2", "C3"]
    assert medium.evidence["event_ids"] == ["e0", "e1", "e2", "e3"]
    assert (medium.evidence["counterparts"], medium.evidence["exact"], medium.score) == (4.0, True, 1.0)
    assert high.tier_reason == "8 distinct policyholders (high from 8)"


def test_fan_out_ignores_the_accounts_own_policies_and_repeats():
    detector = FanOutDetector(FanOutConfig())
    own = payment("own", 5_000.0, t=at(0), account="ACC-9", policyholder_account_id="ACC-9")
    assert detector.key(own) is None
    events = [pays_for("a", 0, "C1"), pays_for("b", 1, "C1"), pays_for("c", 2, "C2"), pays_for("d", 3, "C3")]
    assert feed(detector, events)[0] == []  # three distinct policyholders
    # Unknown policyholder account: counted (the account's own policies add at most one).
    unknown = payment("u", 5_000.0, t=at(4), account="ACC-9", customer_id="C4", policy_id="P-C4")
    assert tiers(feed(detector, events + [unknown])[0]) == [Tier.MEDIUM]


def test_fan_out_window_is_30_days():
    detector = FanOutDetector(FanOutConfig())
    spread = [pays_for(f"e{i}", i * 11 * 24, f"C{i}") for i in range(4)]  # days 0, 11, 22, 33
    assert feed(detector, spread)[0] == []
    inside = [pays_for(f"e{i}", i * 10 * 24, f"C{i}") for i in range(4)]  # days 0..30, inclusive
    assert tiers(feed(detector, inside)[0]) == [Tier.MEDIUM]


def test_fan_out_a_new_episode_after_the_window():
    detector = FanOutDetector(FanOutConfig())
    first = [pays_for(f"a{i}", i, f"C{i}") for i in range(4)]
    second = [pays_for(f"b{i}", 40 * 24 + i, f"D{i}") for i in range(4)]
    found, states = feed(detector, first + second)
    assert [f.window_start for f in found] == [T0, T0 + 30 * DAY]
    restored = orjson.loads(orjson.dumps(states))
    assert feed(detector, first + second, restored)[0] == []  # redelivered: nothing new
    assert restored["ACC-9"]["d"]["h"] == []  # never past the exact cap: no HyperLogLog kept
    assert detector.advance(restored["ACC-9"], at(40 * 24 + 3) + 30 * DAY + 1) == (None, [])


def test_fan_out_beyond_the_exact_cap_is_estimated():
    detector = FanOutDetector(FanOutConfig(min_counterparts=4, high_counterparts=8, exact_cap=8))
    found, states = feed(detector, [pays_for(f"e{i}", i * 0.1, f"C{i}") for i in range(200)])
    assert tiers(found) == [Tier.MEDIUM, Tier.HIGH]
    assert len(states["ACC-9"]["d"]["x"]) == 8
    count, exact = detector.sketch.count(states["ACC-9"]["d"], T0, at(20))
    assert not exact and count == pytest.approx(200, rel=0.25)


def test_fan_in_counts_payouts_of_other_peoples_policies():
    detector = FanInDetector(FanInConfig())
    kinds = ["surrender_payout", "refund", "claim_payout", "surrender_payout"]
    events = [payout(f"e{i}", kind, 30_000.0, t=at(i), payee="ACC-9", policy_id=f"P{i}",
                     policyholder_account_id=f"ACC-{i}") for i, kind in enumerate(kinds)]
    own = payout("own", "claim_payout", 2_000.0, t=at(0.5), payee="ACC-9", policy_id="P-own",
                 policyholder_account_id="ACC-9")
    assert detector.key(own) is None
    assert detector.key(payout("x", "refund", 500.0, payee="ACC-9")) is None  # whose policy? not judged
    [finding], _ = feed(detector, [own] + events)
    assert finding.evidence["policies"] == ["P0", "P1", "P2", "P3"]
    assert finding.summary == "account ACC-9: received refunds or payouts of 4 distinct policies not its own " \
                              "within 30 days"


def test_multiple_payers_medium_at_two_others_high_at_four():
    detector = MultiplePayersDetector(MultiplePayersConfig())
    accounts = ["H", "A", "H", "A", "B", "C", "D"]  # H is the policyholder's own account: not counted
    states: dict = {}
    per_event = [feed(detector, [payment(f"e{i}", 2_000.0, t=at(i), account=a, policyholder_account_id="H")],
                      states)[0] for i, a in enumerate(accounts)]
    assert [tiers(f) for f in per_event] == [[], [], [], [], [Tier.MEDIUM], [], [Tier.HIGH]]
    medium = per_event[4][0]
    assert medium.evidence["payer_accounts"] == ["A", "B"]
    assert medium.evidence["event_ids"] == ["e3", "e4"]  # A's latest premium, then B's
    assert medium.summary == "policy P1: premiums from 2 distinct accounts other than the policyholder's within 30 days"
    assert detector.key(payment("own", 2_000.0, account="H", policyholder_account_id="H")) is None
    assert detector.key(payment("x", 2_000.0, account="A")) is None  # whose policy? not judged


def test_config_is_checked():
    with pytest.raises(ValueError):
        FanOutConfig(min_counterparts=5, high_counterparts=4)
    with pytest.raises(ValueError):
        FanInConfig(exact_cap=4)  # below high_counterparts (8)
