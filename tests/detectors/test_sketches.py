"""Windowed distinct counts: exact while small, a bounded HyperLogLog beyond."""
from __future__ import annotations

import random

import orjson
import pytest

from detectors.sketches import WindowedDistinct, hll_add, hll_empty, hll_estimate


def add_all(counter, items, state=None):
    for item, t in items:
        state = counter.add(state, item, t, f"e-{item}-{t}")
    return state


def test_exact_count_in_an_inclusive_range():
    counter = WindowedDistinct(window_s=10.0)
    state = add_all(counter, [("a", 0.0), ("b", 5.0), ("a", 7.0), ("c", 10.0)])
    assert counter.count(state, 0.0, 10.0) == (3.0, True)
    # "a" counts at its latest time (7), so it is still in [1, 10]; "b" at 5 too.
    assert counter.count(state, 1.0, 10.0) == (3.0, True)
    assert counter.count(state, 8.0, 10.0) == (1.0, True)
    assert counter.members(state, 6.0, 10.0) == [("a", 7.0, "e-a-7.0"), ("c", 10.0, "e-c-10.0")]


def test_duplicates_and_arrival_order_do_not_change_the_count():
    counter = WindowedDistinct(window_s=10.0, exact_cap=3)
    items = [(f"i{k % 5}", float(k)) for k in range(10)]
    once = add_all(counter, items)
    twice = add_all(counter, [i for i in items for _ in range(2)])
    shuffled = list(items)
    random.Random(3).shuffle(shuffled)
    again = add_all(counter, shuffled)
    assert counter.count(once, 0.0, 9.0) == counter.count(twice, 0.0, 9.0) == counter.count(again, 0.0, 9.0)
    assert once == twice


def test_past_the_exact_cap_the_count_is_an_estimate():
    counter = WindowedDistinct(window_s=100.0, exact_cap=4)
    state = add_all(counter, [(f"id{k}", float(k)) for k in range(10)])
    count, exact = counter.count(state, 0.0, 100.0)
    assert not exact and count == pytest.approx(10, abs=1)
    # A range that starts after every dropped item is exact again: ids 6..9 are held exactly.
    assert counter.count(state, 6.0, 100.0) == (4.0, True)


def test_forgetting_reopens_the_exact_count():
    counter = WindowedDistinct(window_s=10.0, exact_cap=2)
    state = add_all(counter, [("a", 0.0), ("b", 1.0), ("c", 2.0)])
    assert state["o"] == 0.0
    state = counter.forget(state, 1.0)
    assert state["o"] is None and set(state["x"]) == {"b", "c"}
    assert counter.forget(state, 100.0) is None


def test_memory_is_bounded_for_an_account_with_very_many_counterparties():
    counter = WindowedDistinct(window_s=30 * 86_400.0, exact_cap=64)
    state = None
    for k in range(20_000):
        state = counter.add(state, f"C{k}", k * 100.0)  # 20,000 counterparties within 24 days
    count, exact = counter.count(state, 0.0, 30 * 86_400.0)
    assert not exact and count == pytest.approx(20_000, rel=0.25)
    assert len(orjson.dumps(state)) < 8_000


def test_hyperloglog_helpers():
    registers = hll_empty(4)
    assert hll_estimate([registers], 4) == 0.0 and hll_estimate([], 4) == 0.0
    once = hll_add(registers, "x", 4)
    assert hll_add(once, "x", 4) == once
    assert hll_estimate([once, once], 4) == pytest.approx(1.0, abs=0.1)
