"""Rapid in and out, per policy: premiums of 50,000 CNY or more paid back out
(at least half of them) by a refund or surrender payout within 90 days.

Medium when the money goes back to an account it came from, critical when it
goes to another one. Windows start at whole multiples of 90 days since the
epoch: the one holding T0 starts 60 days before it.
"""
from __future__ import annotations

import orjson
import pytest

from builders import DAY, T0, at, feed, payment, payout
from detectors.base import Tier
from detectors.rapid_in_out import RapidInOutConfig, RapidInOutDetector


@pytest.fixture
def detector() -> RapidInOutDetector:
    return RapidInOutDetector(RapidInOutConfig())


def premium(event_id, amount, hours, account="ACC1"):
    return payment(event_id, amount, t=at(hours), account=account, channel="bank_transfer")


def out(event_id, amount, hours, payee="ACC1", kind="refund"):
    return payout(event_id, kind, amount, t=at(hours), payee=payee)


def test_cooling_off_refund_to_the_paying_account_is_medium(detector):
    [finding], _ = feed(detector, [premium("p1", 60_000.0, 0), out("r1", 60_000.0, 5 * 24)])
    assert (finding.tier, finding.entity_id, finding.window_start, finding.event_time) == (
        Tier.MEDIUM, "P1", T0 - 60 * DAY, at(120))
    assert finding.tier_reason == "refund of a large premium within 90 days"
    assert finding.summary == "policy P1: 60,000.00 CNY of premiums, refund of 60,000.00 CNY to ACC1 5.0 days later"
    assert finding.evidence == {
        "policy_id": "P1", "customer_id": "C1", "premiums_cny": [60_000.0], "premium_total_cny": 60_000.0,
        "payer_account_ids": ["ACC1"], "payout_type": "refund", "payout_cny": 60_000.0, "payee_account_id": "ACC1",
        "days_in_force": 5.0, "event_ids": ["p1", "r1"],
    }
    assert finding.score == pytest.approx(1.2)


def test_paid_out_to_another_account_is_critical(detector):
    events = [premium("p1", 30_000.0, 0), premium("p2", 25_000.0, 1, "ACC2"),
              out("s1", 50_000.0, 48, "ACC-NEW", "surrender_payout")]
    [finding], _ = feed(detector, events)
    assert finding.tier is Tier.CRITICAL
    assert finding.evidence["payer_account_ids"] == ["ACC1", "ACC2"]
    assert finding.tier_reason == "paid out to an account none of the premiums came from"


@pytest.mark.parametrize("premiums, paid_out, fires", [
    ((49_999.99,), 49_999.99, False),  # below 50,000 in
    ((30_000.0, 20_000.0), 25_000.0, True),  # exactly 50,000 in, exactly half out
    ((30_000.0, 20_000.0), 24_999.99, False),  # less than half out
])
def test_thresholds(detector, premiums, paid_out, fires):
    events = [premium(f"p{i}", a, i) for i, a in enumerate(premiums)] + [out("r1", paid_out, 10)]
    assert len(feed(detector, events)[0]) == (1 if fires else 0)


def test_window_is_90_days(detector):
    assert feed(detector, [premium("p1", 80_000.0, 0), out("s1", 80_000.0, 90 * 24, kind="surrender_payout")])[0]
    assert not feed(detector, [premium("p1", 80_000.0, 0),
                               out("s1", 80_000.0, 90 * 24 + 1, kind="surrender_payout")])[0]


def test_premium_arriving_after_its_payout_is_still_caught(detector):
    found, _ = feed(detector, [out("r1", 70_000.0, 24, "ACC-NEW"), premium("p1", 70_000.0, 0)])
    [finding] = found
    assert finding.tier is Tier.CRITICAL and finding.event_time == at(0)
    assert finding.evidence["event_ids"] == ["p1", "r1"]


def test_a_second_payout_elsewhere_raises_the_same_alert(detector):
    states: dict = {}
    events = [premium("p1", 200_000.0, 0), out("r1", 110_000.0, 24), out("r2", 150_000.0, 48, "ACC-NEW")]
    per_event = [feed(detector, [e], states)[0] for e in events]
    assert [[f.tier for f in found] for found in per_event] == [[], [Tier.MEDIUM], [Tier.CRITICAL]]
    assert per_event[1][0].window_start == per_event[2][0].window_start
    restored = orjson.loads(orjson.dumps(states))
    assert feed(detector, events, restored)[0] == []  # redelivered: nothing new


def test_state_is_kept_for_the_window(detector):
    small = premium("p0", 4_999.99, 0)  # under 5,000: neither kept nor re-keyed
    assert detector.key(small) is None
    _, states = feed(detector, [small, premium("p1", 10_000.0, 0), premium("p2", 5_000.0, 24)])
    state, _ = detector.advance(states["P1"], at(0) + 90 * DAY)
    assert [p[3] for p in state["p"]] == ["p1", "p2"]
    state, _ = detector.advance(state, at(1) + 90 * DAY)
    assert [p[3] for p in state["p"]] == ["p2"]
    assert detector.advance(state, at(25) + 90 * DAY) == (None, [])


def test_config_is_checked():
    with pytest.raises(ValueError):
        RapidInOutConfig(min_out_share=0.0)
    with pytest.raises(ValueError):
        RapidInOutConfig(max_premiums=0)
