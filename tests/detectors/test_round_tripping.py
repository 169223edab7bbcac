"""Round-tripping: a cycle of accounts in the payer-to-payee graph of the last 30 days.

A payout is a transfer from the policy's funders (its third-party payers in
the window, else the policyholder's own account) to the payee. Defaults:
cycles of up to 5 accounts, transfers of 1,000 CNY or more; high, critical
from 200,000 CNY round. T0 is a whole number of 30-day windows.
"""
from __future__ import annotations

import orjson
import pytest

from builders import DAY, T0, at, feed, payment, payout
from detectors.base import Tier
from detectors.round_tripping import GRAPH_KEY, RoundTrippingConfig, RoundTrippingDetector


@pytest.fixture
def detector() -> RoundTrippingDetector:
    return RoundTrippingDetector(RoundTrippingConfig())


def surrender(event_id, hours, holder, payee, policy, customer, amount=80_000.0, kind="surrender_payout"):
    return payout(event_id, kind, amount, t=at(hours), payee=payee, policy_id=policy, customer_id=customer,
                  policyholder_account_id=holder)


def third_party(event_id, hours, payer, holder, policy, customer, amount=30_000.0):
    return payment(event_id, amount, t=at(hours), account=payer, channel="bank_transfer", policy_id=policy,
                   customer_id=customer, policyholder_account_id=holder)


def test_what_is_routed_to_the_graph(detector):
    assert detector.key(third_party("p", 0, "A", "B", "P1", "CB")) == GRAPH_KEY
    assert detector.key(third_party("p", 0, "B", "B", "P1", "CB")) is None  # the policyholder's own premium
    assert detector.key(surrender("s", 0, "A", "A", "P1", "CA")) == GRAPH_KEY  # every payout
    # Ordinary business keeps nothing: a payout to the policyholder with no third-party premium.
    assert feed(detector, [surrender("s", 0, "A", "A", "P1", "CA")]) == ([], {})


def test_two_customers_surrender_to_each_other(detector):
    events = [surrender("s1", 0, "A", "B", "P1", "CA"), surrender("s2", 24, "B", "A", "P2", "CB", 75_000.0)]
    [finding], _ = feed(detector, events)
    assert (finding.entity_type, finding.entity_id, finding.tier) == ("account", "A", Tier.HIGH)
    assert (finding.window_start, finding.event_time) == (T0, at(24))
    assert finding.summary == "account A: money returned through 2 transfers via policies P1, P2 within 1.0 days, " \
                              "at least 75,000.00 CNY round"
    assert finding.evidence == {
        "accounts": ["A", "B"], "nodes": ["customer:CA", "customer:CB"], "returned_to_account_id": "A",
        "policies": ["P1", "P2"], "amounts_cny": [80_000.0, 75_000.0], "times": [T0, at(24)],
        "customer_id": "CB", "policy_id": "P2", "event_ids": ["s1", "s2"],
    }
    # Whichever arrives first, the alert is on the account the money first left.
    [reverse], _ = feed(detector, events[::-1])
    assert (reverse.entity_id, reverse.window_start) == ("A", T0)


def test_premiums_paid_for_each_others_policies_come_back(detector):
    events = [
        third_party("p1", 0, "A", "B", "P1", "CB"),  # A pays B's policy...
        surrender("r1", 1, "B", "B", "P1", "CB", 29_000.0, "refund"),  # ...refunded to B: A -> B
        third_party("p2", 2, "B", "A", "P2", "CA"),  # B pays A's policy...
        surrender("r2", 3, "A", "A", "P2", "CA", 29_500.0, "refund"),  # ...refunded to A: B -> A
    ]
    found, states = feed(detector, events)
    [finding] = found
    assert finding.evidence["amounts_cny"] == [29_000.0, 29_500.0]  # at most what was paid in
    assert finding.evidence["event_ids"] == ["r1", "r2", "p1", "p2"]
    assert finding.event_time == at(3)
    restored = orjson.loads(orjson.dumps(states))
    assert feed(detector, events, restored)[0] == []  # redelivered: nothing new


def test_back_to_another_account_of_the_same_customer(detector):
    # X's policy (account A) surrenders to B; B pays X's other policy (account A2), refunded to A2.
    events = [surrender("s1", 0, "A", "B", "P0", "X"), third_party("p2", 2, "B", "A2", "P2", "X"),
              surrender("r2", 3, "A2", "A2", "P2", "X", 70_000.0, "refund")]
    [finding], _ = feed(detector, events)
    assert finding.entity_id == "A"
    assert finding.evidence["nodes"] == ["customer:X", "account:B"]
    assert finding.evidence["returned_to_account_id"] == "A2"


def test_the_customer_index_follows_the_links_in_and_out_of_the_window(detector):
    _, states = feed(detector, [surrender("s1", 0, "A", "B", "P1", "X"), surrender("s2", 1, "A2", "B", "P2", "X"),
                                surrender("s3", 50, "A", "C", "P3", "Y")])
    state = states[GRAPH_KEY]
    assert state["c"] == {"X": ["A2"], "Y": ["A"]}  # A moved to customer Y
    state, _ = detector.advance(state, at(1) + 30 * DAY + 1)
    assert state["l"] == {"A": ["Y", at(50)]} and state["c"] == {"Y": ["A"]}


def test_a_ring_of_three_and_a_critical_amount(detector):
    events = [surrender("s1", 0, "A", "B", "P1", "CA", 250_000.0), surrender("s2", 1, "B", "C", "P2", "CB", 240_000.0),
              surrender("s3", 2, "C", "A", "P3", "CC", 230_000.0)]
    [finding], _ = feed(detector, events)
    assert finding.tier is Tier.CRITICAL and finding.evidence["accounts"] == ["A", "B", "C"]
    assert finding.tier_reason == "230,000 CNY went round the cycle (critical from 200,000)"


def test_no_cycle_without_a_return_within_30_days(detector):
    chain = [surrender("s1", 0, "A", "B", "P1", "CA"), surrender("s2", 1, "B", "C", "P2", "CB")]
    assert feed(detector, chain)[0] == []
    late = [surrender("s1", 0, "A", "B", "P1", "CA"), surrender("s2", 30 * 24 + 1, "B", "A", "P2", "CB")]
    assert feed(detector, late)[0] == []
    small = [surrender("s1", 0, "A", "B", "P1", "CA", 999.0), surrender("s2", 1, "B", "A", "P2", "CB")]
    assert feed(detector, small)[0] == []  # transfers under 1,000 CNY are left out


def test_one_alert_per_origin_and_window(detector):
    events = [surrender("s1", 0, "A", "B", "P1", "CA"), surrender("s2", 1, "B", "A", "P2", "CB"),
              surrender("s3", 2, "A", "C", "P3", "CA"), surrender("s4", 3, "C", "A", "P4", "CC")]
    assert len(feed(detector, events)[0]) == 1


def test_everything_leaves_with_the_window(detector):
    _, states = feed(detector, [third_party("p1", 0, "A", "B", "P1", "CB"),
                                surrender("s1", 1, "B", "C", "P2", "CB")])
    state = states[GRAPH_KEY]
    assert set(state["p"]) == {"P1"} and state["g"]["n"] == 1
    state, _ = detector.advance(state, at(0) + 30 * DAY)
    assert state["p"] and state["g"]
    assert detector.advance(state, at(1) + 30 * DAY + 1) == (None, [])


def test_config_is_checked():
    with pytest.raises(ValueError):
        RoundTrippingConfig(max_cycle_length=1)
    with pytest.raises(ValueError):
        RoundTrippingConfig(window_s=0.0)
