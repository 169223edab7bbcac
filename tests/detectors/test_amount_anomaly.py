"""Amount anomaly: robust z of the log premium against the customer's, or the product's, history.

Customer defaults: at least 5 premiums of history, scale floored at 0.5 (log
units), z 6, premiums of 50,000 CNY or more; a round amount (multiple of
10,000) and a burst (3 premiums within 2 h) each raise the tier one step from
medium. Product: 30 premiums of history, z 8.
"""
from __future__ import annotations

import math

import orjson
import pytest

from builders import DAY, HOUR, at, feed, payment
from detectors.amount_anomaly import (
    AmountAnomalyConfig,
    CustomerAmountAnomalyDetector,
    ProductAmountAnomalyConfig,
    ProductAmountAnomalyDetector,
)
from detectors.base import Tier


@pytest.fixture
def customer() -> CustomerAmountAnomalyDetector:
    return CustomerAmountAnomalyDetector(AmountAnomalyConfig())


def premiums(amounts, hours_apart=6.0, start=0.0, prefix="h"):
    return [payment(f"{prefix}{i}", a, t=at(start + i * hours_apart), channel="mobile") for i, a in enumerate(amounts)]


HISTORY = premiums([1_000.0, 1_200.0, 900.0, 1_100.0, 1_000.0])


def test_worked_example(customer):
    # log history: median log(1000); deviations 0, 0, 0.0953, 0.1054, 0.1823: MAD 0.0953,
    # scale 1.4826 x 0.0953 = 0.141, floored at 0.5. z = log(152,500 / 1,000) / 0.5 = 10.05.
    [finding], _ = feed(customer, HISTORY + [payment("big", 152_500.0, t=at(30), channel="bank_transfer")])
    assert finding.score == pytest.approx(math.log(152.5) / 0.5)
    assert (finding.tier, finding.entity_type, finding.entity_id) == (Tier.MEDIUM, "customer", "C1")
    assert (finding.window_start, finding.event_time) == (at(30), at(30))
    assert finding.summary == "customer C1: premium of 152,500.00 CNY against a usual 1,000.00 CNY " \
                              "(5 premiums of history), robust z 10.1"
    assert finding.evidence["event_ids"] == ["h0", "h1", "h2", "h3", "h4", "big"]
    assert (finding.evidence["round_amount"], finding.evidence["premiums_in_burst_window"]) == (False, 1)


def test_the_edge_of_z_6(customer):
    steady = premiums([3_000.0] * 5)  # MAD 0: scale 0.5, so z = 2 log(amount / 3,000)
    assert feed(customer, steady + [payment("x", 60_000.0, t=at(40))])[0] == []  # z 5.99
    assert len(feed(customer, steady + [payment("x", 60_500.0, t=at(40))])[0]) == 1  # z 6.01


def test_needs_five_premiums_of_history_and_fifty_thousand(customer):
    assert feed(customer, HISTORY[:4] + [payment("big", 152_500.0, t=at(30))])[0] == []
    assert feed(customer, HISTORY + [payment("x", 49_999.0, t=at(30))])[0] == []  # z 7.8, but small
    assert feed(customer, premiums([200_000.0] * 5) + [payment("x", 1_000.0, t=at(40))])[0] == []  # only upwards


@pytest.mark.parametrize("amount, burst, tier", [
    (152_500.0, False, Tier.MEDIUM), (150_000.0, False, Tier.HIGH), (152_500.0, True, Tier.HIGH),
    (150_000.0, True, Tier.CRITICAL),
])
def test_round_amounts_and_bursts_raise_the_tier(customer, amount, burst, tier):
    extra = [payment("b1", 1_000.0, t=at(29), channel="mobile"), payment("b2", 1_000.0, t=at(29.5), channel="mobile")]
    events = HISTORY + (extra if burst else []) + [payment("big", amount, t=at(30))]
    [finding], _ = feed(customer, events)
    assert finding.tier is tier
    assert finding.evidence["premiums_in_burst_window"] == (3 if burst else 1)


def test_the_anomaly_first_and_its_history_later(customer):
    big = payment("big", 152_500.0, t=at(30))
    found, _ = feed(customer, [big] + HISTORY)
    [finding] = found  # scored again once its history arrived, at the fifth premium
    assert (finding.window_start, finding.event_time) == (at(30), HISTORY[-1].time)
    assert finding.evidence["event_ids"] == ["h0", "h1", "h2", "h3", "h4", "big"]


def test_duplicates_restarts_and_forgetting(customer):
    events = HISTORY + [payment("big", 152_500.0, t=at(30))]
    _, states = feed(customer, events)
    restored = orjson.loads(orjson.dumps(states))
    assert feed(customer, events, restored)[0] == []
    assert restored["C1"]["f"] == ["big"]
    state, _ = customer.advance(restored["C1"], at(0) + 180 * DAY)
    assert len(state["s"]["v"]) == 6
    assert customer.advance(state, at(30) + 180 * DAY + 1) == (None, [])


def test_history_is_the_latest_32_premiums(customer):
    _, states = feed(customer, premiums([1_000.0] * 40, hours_apart=1.0))
    assert len(states["C1"]["s"]["v"]) == 32


def test_product_history():
    product = ProductAmountAnomalyDetector(ProductAmountAnomalyConfig())
    history = [payment(f"p{i}", 2_000.0 + 50 * i, t=at(i / 6), product_id="PD1") for i in range(30)]
    big = payment("big", 500_000.0, t=at(5), product_id="PD1")
    [finding], _ = feed(product, history + [big])
    assert (finding.entity_type, finding.entity_id, finding.tier) == ("product", "PD1", Tier.HIGH)  # round
    assert finding.evidence["premiums_in_burst_window"] == 13  # counted, but no burst rule per product
    assert feed(product, history[1:] + [big])[0] == []  # 29 premiums of history
    # z 8 on the floored scale 0.5: e^4 = 54.6 times the median (2,724.9 CNY), 148,776 CNY.
    assert feed(product, history + [payment("x", 148_000.0, t=at(5), product_id="PD1")])[0] == []
    assert len(feed(product, history + [payment("x", 149_500.0, t=at(5), product_id="PD1")])[0]) == 1


def test_config_is_checked():
    with pytest.raises(ValueError):
        AmountAnomalyConfig(min_history=40)  # more than the capacity of 32
    with pytest.raises(ValueError):
        AmountAnomalyConfig(burst_window_s=0.0)
    assert ProductAmountAnomalyConfig().burst_payments == 0 and HOUR == 3600.0
