"""Small statistical helpers shared by the detectors (one home for each test)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol


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


class PeerTestSettings(Protocol):
    """The thresholds of :func:`peer_outlier` (``AgentPeerConfig`` and the partner
    scorecard's config both carry them, under these names)."""

    p_value: float
    high_p_value: float
    min_events: int
    min_exposure: int
    min_rate_ratio: float
    prior_weight: float
    concentration: float


@dataclass(frozen=True, slots=True)
class PeerOutlier:
    """A member whose rate is out of line with its peers' (see :func:`peer_outlier`)."""

    events: int
    #: The exposure tested: at least ``events``.
    exposure: int
    rate: float
    peer_rate: float
    p_value: float
    #: ``p_value`` is below the settings' ``high_p_value``.
    high: bool


def peer_outlier(events: int, exposure: int, peer_events: float, peer_exposure: float, prior_rate: float,
                 settings: PeerTestSettings) -> PeerOutlier | None:
    """The sample-size-aware peer test shared by every peer comparison (agents
    against their branch, partners against their partner type).

    ``events`` of ``exposure`` for the member, against the pooled
    ``peer_events`` of ``peer_exposure`` of its peers, whose rate is shrunk
    towards ``prior_rate`` as if seen over ``settings.prior_weight`` units.
    The member is an outlier when it has at least ``min_events`` events and
    ``min_exposure`` exposure, a rate at least ``min_rate_ratio`` times the
    peer rate, and a one-sided beta-binomial tail (concentration
    ``concentration`` around the peer rate) below ``p_value``. Returns None
    otherwise. ``min_exposure`` applies to the exposure given; the test then
    raises it to ``events`` when smaller (an event of a unit counted before the
    window).

    >>> from detectors.agent_peers import AgentPeerConfig
    >>> hit = peer_outlier(7, 20, 10, 500, 0.03, AgentPeerConfig())
    >>> hit.rate, round(hit.peer_rate, 4), hit.high
    (0.35, 0.0229, False)
    >>> peer_outlier(2, 3, 10, 500, 0.03, AgentPeerConfig()) is None  # too few events
    True
    """
    if events < settings.min_events or exposure < settings.min_exposure:
        return None
    exposure = max(exposure, events)
    peer_rate = shrunk_rate(peer_events, peer_exposure, prior_rate, settings.prior_weight)
    rate = events / exposure
    if rate < settings.min_rate_ratio * peer_rate:
        return None
    tail = beta_binomial_sf(events, exposure, peer_rate * settings.concentration,
                            (1.0 - peer_rate) * settings.concentration)
    if tail >= settings.p_value:
        return None
    return PeerOutlier(events, exposure, rate, peer_rate, tail, tail < settings.high_p_value)
