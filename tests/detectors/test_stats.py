"""poisson_sf against values worked by hand and against an exact sum of the pmf."""
from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.stats import beta_binomial_sf, binomial_sf, poisson_sf, shrunk_rate


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


# --- binomial, beta-binomial and shrinkage (peer comparison of agents and partners) ---

def exact_binomial_sf(k: int, n: int, p: Fraction) -> Fraction:
    return sum((math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(max(k, 0), n + 1)), Fraction(0))


def exact_beta_binomial_sf(k: int, n: int, a: int, b: int) -> Fraction:
    """For whole ``a`` and ``b``: B(x, y) = (x-1)! (y-1)! / (x+y-1)!, exactly."""
    def beta(x: int, y: int) -> Fraction:
        return Fraction(math.factorial(x - 1) * math.factorial(y - 1), math.factorial(x + y - 1))
    return sum((math.comb(n, i) * beta(i + a, n - i + b) / beta(a, b) for i in range(max(k, 0), n + 1)),
               Fraction(0))


@pytest.mark.parametrize(
    "k, n, p, value",
    [
        (0, 5, 0.3, 1.0),
        (6, 5, 0.3, 0.0),
        (1, 5, 0.0, 0.0),
        (5, 5, 1.0, 1.0),
        (1, 3, 0.5, 0.875),  # 1 - 1/8
        (3, 3, 0.5, 0.125),
        (2, 4, 0.1, 0.0523),  # 1 - 0.9^4 - 4 x 0.1 x 0.9^3 = 1 - 0.6561 - 0.2916
        (3, 20, 0.02, 0.007068693),  # 1 - 0.98^20 - 20 x 0.02 x 0.98^19 - 190 x 0.02^2 x 0.98^18
    ],
)
def test_binomial_sf_by_hand(k, n, p, value):
    assert binomial_sf(k, n, p) == pytest.approx(value, rel=1e-6, abs=0.0)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-1, max_value=70), st.integers(min_value=0, max_value=60),
       st.fractions(min_value=Fraction(1, 1000), max_value=Fraction(999, 1000), max_denominator=1000))
def test_binomial_sf_matches_the_exact_sum(k, n, p):
    assert binomial_sf(k, n, float(p)) == pytest.approx(float(exact_binomial_sf(k, n, p)), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    "k, n, a, b, value",
    [
        # Beta(1, 1) is uniform: every count 0..n equally likely, P(X >= k) = (n - k + 1) / (n + 1).
        (3, 4, 1.0, 1.0, 0.4),
        (0, 4, 1.0, 1.0, 1.0),
        (5, 4, 1.0, 1.0, 0.0),
        # n = 2, Beta(1, 2): pmf 1/2, 1/3, 1/6 (worked from B(x + 1, 4 - x) / B(1, 2)).
        (1, 2, 1.0, 2.0, 0.5),
        (2, 2, 1.0, 2.0, 1 / 6),
    ],
)
def test_beta_binomial_sf_by_hand(k, n, a, b, value):
    assert beta_binomial_sf(k, n, a, b) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("k, n, a, b", [(7, 20, 3, 97), (6, 20, 3, 97), (12, 20, 3, 97), (7, 20, 4, 96),
                                        (30, 400, 2, 98), (1, 1, 5, 5)])
def test_beta_binomial_sf_matches_the_exact_sum(k, n, a, b):
    assert beta_binomial_sf(k, n, a, b) == pytest.approx(float(exact_beta_binomial_sf(k, n, a, b)), rel=1e-9)


def test_beta_binomial_has_a_fatter_tail_and_tends_to_the_binomial():
    # Agents differ: 7 of 20 is less surprising when the rate itself varies.
    assert beta_binomial_sf(7, 20, 3, 97) > 10 * binomial_sf(7, 20, 0.03)
    assert beta_binomial_sf(7, 20, 0.03 * 1e9, 0.97 * 1e9) == pytest.approx(binomial_sf(7, 20, 0.03), rel=1e-4)
    with pytest.raises(ValueError):
        beta_binomial_sf(1, 2, 0.0, 1.0)


def test_shrunk_rate():
    assert shrunk_rate(3, 100, 0.02, 100) == pytest.approx(0.025)  # (3 + 2) / (100 + 100)
    assert shrunk_rate(0, 0, 0.03, 200) == 0.03  # nothing seen: the prior
    assert shrunk_rate(6, 100, 0.03, 200) == pytest.approx(0.04)  # (6 + 6) / 300
    assert shrunk_rate(500, 1_000_000, 0.03, 200) == pytest.approx(506 / 1_000_200)  # mostly the data
    with pytest.raises(ValueError):
        shrunk_rate(-1, 10, 0.03, 200)
