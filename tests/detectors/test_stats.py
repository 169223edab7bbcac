"""poisson_sf against values worked by hand and against an exact sum of the pmf."""
from __future__ import annotations

import math
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.stats import poisson_sf


def exact_sf(k: int, mean: float) -> float:
    """P(X >= k), the upper pmf terms summed in 80-digit decimal arithmetic
    (no subtraction, so no cancellation), from the exact value of ``mean``."""
    if k <= 0:
        return 1.0
    with localcontext() as ctx:
        ctx.prec = 80
        m = Decimal(mean)
        if m == 0:
            return 0.0
        term = (-m).exp() * m**k / math.factorial(k)
        total = Decimal(0)
        i = k
        while term > total * Decimal("1e-40") or i <= mean:
            total += term
            i += 1
            term = term * m / i
        return float(total)


@pytest.mark.parametrize(
    "k, mean, value",
    [
        (0, 5.0, 1.0),
        (-3, 5.0, 1.0),
        (0, 0.0, 1.0),
        (1, 0.0, 0.0),
        # 1 - e^-2
        (1, 2.0, 0.8646647167633873),
        # 1 - e^-3 (1 + 3)
        (2, 3.0, 0.8008517265285442),
        # e^-0.02 (0.02^3/6 + 0.02^4/24 + 0.02^5/120 + ...) = 0.98019867 x 1.3400267e-6
        (3, 0.02, 1.3134924482e-06),
        # m - m^2/2 + ... for a tiny mean
        (1, 1e-12, 9.999999999995e-13),
    ],
)
def test_values_by_hand(k, mean, value):
    assert poisson_sf(k, mean) == pytest.approx(value, rel=1e-9, abs=0.0)


@pytest.mark.parametrize(
    "k, mean",
    [
        (50, 0.001),  # ~3e-215: far in the tail of a tiny mean
        (30, 2.5),
        (10, 10.0),
        (11, 10.0),
        (1000, 1000.0),  # exp(-1000) underflows: the terms must be taken in log space
        (800, 1000.0),
        (1200, 1000.0),
        (10_050, 10_000.0),
    ],
)
def test_matches_the_exact_sum(k, mean):
    assert poisson_sf(k, mean) == pytest.approx(exact_sf(k, mean), rel=1e-9, abs=0.0)


def test_a_large_mean_is_not_a_certainty():
    assert 0.50 < poisson_sf(1000, 1000.0) < 0.51


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=60), st.floats(min_value=1e-6, max_value=80.0))
def test_matches_the_exact_sum_anywhere(k, mean):
    assert poisson_sf(k, mean) == pytest.approx(exact_sf(k, mean), rel=1e-9, abs=1e-300)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=60), st.floats(min_value=0.0, max_value=80.0))
def test_is_a_probability_that_falls_with_k_and_rises_with_the_mean(k, mean):
    p = poisson_sf(k, mean)
    assert 0.0 <= p <= 1.0
    assert poisson_sf(k + 1, mean) <= p
    assert poisson_sf(k, mean * 1.5 + 0.1) >= p
