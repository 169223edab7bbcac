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
    if k > mean:
        log_term = -mean + k * math.log(mean) - math.lgamma(k + 1)
        total = 0.0
        i = k
        term = math.exp(log_term)
        while term > 1e-17 * max(total, 1e-300) and i < k + 10_000:
            total += term
            i += 1
            term *= mean / i
        return min(1.0, total)
    cdf = 0.0
    term = math.exp(-mean)
    for i in range(k):
        cdf += term
        term *= mean / (i + 1)
    return max(0.0, 1.0 - cdf)
