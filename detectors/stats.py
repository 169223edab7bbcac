"""Small statistical helpers shared by the detectors (one home for each test)."""
from __future__ import annotations

import math


def poisson_sf(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean). ``k <= 0`` gives 1.0.

    Summed in log space so that large ``k`` and tiny means neither overflow nor
    lose the tail to rounding.
    """
    if k <= 0:
        return 1.0
    if mean <= 0.0:
        return 0.0
    # P(X >= k) = 1 - P(X <= k-1); for a tail far above the mean summing the
    # upper terms directly is more accurate than 1 - cdf.
    log_mean = math.log(mean)
    if k > mean:
        total = 0.0
        i = k
        term = math.exp(-mean + k * log_mean - math.lgamma(k + 1))
        # Terms fall off like exp(-j^2 / 2 mean) when k is near the mean: allow
        # for ~20 standard deviations as well as a long tail after a large k.
        last = k + 10_000 + 20 * math.isqrt(int(mean) + 1)
        while term > 1e-17 * max(total, 1e-300) and i < last:
            total += term
            i += 1
            term *= mean / i
        return min(1.0, total)
    # Each pmf term in log space: exp(-mean) alone underflows to 0 for a mean
    # past ~745, which would make the cdf 0 and the tail 1.
    cdf = math.fsum(math.exp(i * log_mean - mean - math.lgamma(i + 1)) for i in range(k))
    return max(0.0, 1.0 - cdf)


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p). ``k <= 0`` gives 1.0, ``k > n`` gives 0.0.

    The upper terms are summed directly (each in log space), so a tail of
    1e-30 is as accurate as one of 0.3: no ``1 - cdf`` cancellation.
    """
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    return min(1.0, math.fsum(math.exp(_log_choose(n, i) + i * log_p + (n - i) * log_q) for i in range(k, n + 1)))


def beta_binomial_sf(k: int, n: int, alpha: float, beta: float) -> float:
    """P(X >= k) for X ~ BetaBinomial(n, alpha, beta): a binomial whose rate is
    itself drawn from Beta(alpha, beta), i.e. an agent whose own rate varies
    around the peer rate ``alpha / (alpha + beta)`` with concentration
    ``alpha + beta`` (the smaller it is, the more agents differ and the fatter
    the tail). As the concentration grows it tends to :func:`binomial_sf`.

    ``k <= 0`` gives 1.0 and ``k > n`` gives 0.0; ``alpha`` and ``beta`` must
    be positive.
    """
    if alpha <= 0.0 or beta <= 0.0:
        raise ValueError("alpha and beta must be positive")
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    log_norm = math.lgamma(alpha + beta) - math.lgamma(alpha) - math.lgamma(beta) - math.lgamma(n + alpha + beta)
    terms = (math.exp(_log_choose(n, i) + math.lgamma(i + alpha) + math.lgamma(n - i + beta) + log_norm)
             for i in range(k, n + 1))
    return min(1.0, math.fsum(terms))


def shrunk_rate(events: float, exposure: float, prior_rate: float, prior_weight: float) -> float:
    """Empirical-Bayes rate: ``events / exposure`` pulled towards ``prior_rate``
    as if the prior had been seen over ``prior_weight`` units of exposure
    (the mean of the Beta posterior). With no exposure it is the prior; with
    exposure much larger than ``prior_weight`` it is the observed rate.

    >>> shrunk_rate(3, 100, 0.02, 100)
    0.025
    """
    if exposure < 0 or events < 0 or prior_weight <= 0:
        raise ValueError("events and exposure must not be negative and prior_weight must be positive")
    return (events + prior_rate * prior_weight) / (exposure + prior_weight)
