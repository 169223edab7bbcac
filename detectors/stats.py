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
