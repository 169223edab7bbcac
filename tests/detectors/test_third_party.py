"""Third-party payer, per policy: a premium from an account other than the policyholder's.

Defaults: one alert per policy per 30 days, low; medium from 20,000 CNY or in
cash. T0 is a whole number of 30-day windows, so a window starting in it is T0.
"""
from __future__ import annotations

import orjson
import pytest

from builders import DAY, T0, at, feed, payment, policy_event
from detectors.base import Tier
from detectors.third_party import ThirdPartyPayerConfig, ThirdPartyPayerDetector

HOLDER = "ACC-H"


@pytest.fixture
def detector() -> ThirdPartyPayerDetector:
    return ThirdPartyPayerDetector(ThirdPartyPayerConfig())


def premium(event_id, hours, account, amount=3_000.0, channel="mobile", holder=HOLDER):
    return payment(event_id, amount, t=at(hours), account=account, channel=channel, policyholder_account_id=holder)


def test_the_policyholders_own_account_is_nothing_to_keep(detector):
    own = premium("p1", 0, HOLDER)
    assert detector.key(own) is None
    assert detector.observe(own, None) == (None, [])


def test_a_relatives_transfer_is_low(detector):
    [finding], states = feed(detector, [premium("p1", 0, "ACC-UNCLE")])
    assert (finding.tier, finding.entity_type, finding.entity_id) == (Tier.LOW, "policy", "P1")
    assert finding.window_start == T0
    assert finding.summary == "policy P1: 1 premium(s) totalling 3,000.00 CNY from 1 account(s) other than " \
                              "the policyholder's ACC-H"
    assert finding.evidence == {
        "policy_id": "P1", "customer_id": "C1", "policyholder_account_id": HOLDER, "payer_account_ids": ["ACC-UNCLE"],
        "amounts_cny": [3_000.0], "channels": ["mobile"], "total_cny": 3_000.0, "first_time": T0,
        "event_ids": ["p1"],
    }


@pytest.mark.parametrize("amount, channel, tier", [
    (19_999.99, "bank_transfer", Tier.LOW), (20_000.0, "bank_transfer", Tier.MEDIUM), (500.0, "cash", Tier.MEDIUM),
])
def test_amount_and_channel_decide_the_tier(detector, amount, channel, tier):
    [finding], _ = feed(detector, [premium("p1", 0, "ACC-X", amount, channel)])
    assert finding.tier is tier


def test_one_alert_per_window_raised_once_to_medium(detector):
    events = [premium("p1", 0, "ACC-UNCLE"), premium("p2", 24, "ACC-UNCLE"), premium("p3", 48, "ACC-X", channel="cash"),
              premium("p4", 72, "ACC-Y", channel="cash")]
    per_event = [feed(detector, [e], states)[0] for states in [{}] for e in events]
    assert [[f.tier for f in found] for found in per_event] == [[Tier.LOW], [], [Tier.MEDIUM], []]
    assert per_event[2][0].window_start == per_event[0][0].window_start == T0
    assert per_event[2][0].evidence["payer_account_ids"] == ["ACC-UNCLE", "ACC-X"]


def test_a_new_window_is_a_new_alert(detector):
    found, _ = feed(detector, [premium("p1", 0, "ACC-X"), premium("p2", 31 * 24, "ACC-X")])
    assert [f.window_start for f in found] == [T0, T0 + 30 * DAY]


def test_the_policyholder_from_policy_issued_in_either_order(detector):
    issued = policy_event("i1", "policy_issued", t=at(0), policyholder_account_id=HOLDER)
    own = payment("p1", 3_000.0, t=at(1), account=HOLDER, channel="mobile")  # no holder on the payment
    other = payment("p2", 3_000.0, t=at(2), account="ACC-X", channel="mobile")
    for order in ([issued, own, other], [own, other, issued]):
        found, states = feed(detector, order)
        assert [f.evidence["payer_account_ids"] for f in found] == [["ACC-X"]]
        assert [p[4] for p in states["P1"]["p"]] == ["p2"]  # the own premium was dropped once judged
    # Without the facts nothing can be judged: the premium waits, no alert.
    assert feed(detector, [other])[0] == []


def test_state_survives_json_and_is_forgotten(detector):
    _, states = feed(detector, [policy_event("i1", "policy_issued", t=at(0), policyholder_account_id=HOLDER),
                                premium("p1", 1, "ACC-X")])
    restored = orjson.loads(orjson.dumps(states))
    assert feed(detector, [premium("p2", 2, "ACC-Y", channel="cash")], restored)[0][0].tier is Tier.MEDIUM
    state, _ = detector.advance(restored["P1"], at(0) + 30 * DAY)
    assert state["i"] is not None and state["f"]  # issued 30 days ago to the second: kept
    assert detector.advance(state, at(2) + 30 * DAY + 1) == (None, [])


def test_config_is_checked():
    with pytest.raises(ValueError):
        ThirdPartyPayerConfig(window_s=0)
    with pytest.raises(ValueError):
        ThirdPartyPayerConfig(tier="amber")
