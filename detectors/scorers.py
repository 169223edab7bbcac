"""Univariate streaming anomaly scorers with one small interface and explicit state.

Each scorer is a plain object built from its parameters; its state is a
JSON-serialisable dict (``None`` for "nothing seen yet") handed in and handed
back, as for detectors, so a faust table, a replay and a benchmark keep it the
same way. The interface, shared by all (river's ``score_one``/``learn_one``):

* ``score(state, value, time) -> float``: how anomalous ``value`` at ``time``
  is against what the state holds, without learning it; ``0.0`` until
  ``min_history`` values have been learnt;
* ``learn(state, value, time, ref=None) -> state``: fold the value in;
* ``score_one(state, value, time, ref=None) -> (state, score)``: score, then
  learn: the one call a streaming loop (e.g. over a Numenta Anomaly Benchmark
  series) makes per point.

Scores are signed in the units of a z-score (positive: above the history), so
a threshold means the same thing for every scorer; :class:`CusumScorer` gives
the larger of its two cumulative sums, which is never negative. Times are
seconds (any epoch); values are whatever the caller chooses, e.g. the log of an
amount in CNY. Non-finite values raise ``ValueError``.

>>> scorer = RobustZScorer(capacity=50, min_history=5)
>>> state = None
>>> for t, x in enumerate([10.0, 10.5, 9.5, 10.2, 9.8]):
...     state, s = scorer.score_one(state, x, float(t))
>>> s  # not enough history yet when the fifth value was scored
0.0
>>> round(scorer.score(state, 14.0, 5.0), 2)  # median 10, MAD 0.2
13.49
"""
from __future__ import annotations

import bisect
import math
from abc import ABC, abstractmethod
from statistics import NormalDist
from collections.abc import Sequence
from typing import Any

import numpy as np

from detectors.stats import poisson_sf

ScorerState = Any  # a JSON-serialisable dict, or None before the first value

#: MAD of a normal distribution times this is its standard deviation.
MAD_TO_SIGMA = 1.4826


def _finite(value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"a scorer needs finite values, got {value!r}")
    return value


class Scorer(ABC):
    """The interface of every scorer; ``min_history`` values come before any score."""

    min_history: int

    @abstractmethod
    def score(self, state: ScorerState, value: float, time: float) -> float:
        """Anomaly score of ``value`` at ``time`` against ``state`` (not learnt)."""

    @abstractmethod
    def learn(self, state: ScorerState, value: float, time: float, ref: str | None = None) -> ScorerState:
        """``state`` with ``value`` folded in (may update ``state`` in place)."""

    def score_one(self, state: ScorerState, value: float, time: float,
                  ref: str | None = None) -> tuple[ScorerState, float]:
        """Score ``value`` against the history, then learn it."""
        score = self.score(state, value, time)
        return self.learn(state, value, time, ref), score


class RobustZScorer(Scorer):
    """Robust z-score against the median and MAD of a bounded history.

    The state keeps the ``capacity`` latest values by time (with their times
    and an optional ``ref``, e.g. an event id), dropping values older than
    ``max_age_s`` before the newest. A value is scored only against values
    strictly *earlier* than its own time, so a history that arrives out of
    order scores each value as an in-order stream would have, once the history
    is there; the caller may score an old value again after a late arrival.
    ``min_scale`` floors the scale (a history of identical values has MAD 0).

    State: ``{"v": [[time, value, ref], ...]}`` sorted by time.
    """

    def __init__(self, capacity: int = 64, min_history: int = 10, min_scale: float = 1e-9,
                 max_age_s: float | None = None) -> None:
        if capacity < 1 or min_history < 1 or min_history > capacity:
            raise ValueError("capacity and min_history must be positive, min_history at most capacity")
        if not min_scale > 0 or (max_age_s is not None and not max_age_s > 0):
            raise ValueError("min_scale and max_age_s must be positive")
        self.capacity = capacity
        self.min_history = min_history
        self.min_scale = min_scale
        self.max_age_s = max_age_s

    @staticmethod
    def history(state: ScorerState, time: float) -> list[list]:
        """The entries strictly before ``time`` (oldest first)."""
        if not state:
            return []
        entries = state["v"]
        return entries[:bisect.bisect_left(entries, time, key=lambda e: e[0])]

    def location_scale(self, values: list[float]) -> tuple[float, float]:
        """Median and robust scale (1.4826 MAD, floored at ``min_scale``) of ``values``."""
        array = np.asarray(values, dtype=float)
        median = float(np.median(array))
        mad = float(np.median(np.abs(array - median)))
        return median, max(MAD_TO_SIGMA * mad, self.min_scale)

    def score(self, state: ScorerState, value: float, time: float) -> float:
        value = _finite(value)
        past = self.history(state, time)[-self.capacity:]
        if len(past) < self.min_history:
            return 0.0
        median, scale = self.location_scale([e[1] for e in past])
        return (value - median) / scale

    def learn(self, state: ScorerState, value: float, time: float, ref: str | None = None) -> ScorerState:
        state = state or {"v": []}
        entries: list = state["v"]
        bisect.insort(entries, [time, _finite(value), ref], key=lambda e: e[0])
        if len(entries) > self.capacity:
            del entries[: len(entries) - self.capacity]
        if self.max_age_s is not None:
            self.forget(state, entries[-1][0] - self.max_age_s)
        return state

    def forget(self, state: ScorerState, horizon: float) -> ScorerState:
        """Drop values before ``horizon``; ``None`` once nothing is left."""
        if not state:
            return None
        del state["v"][: bisect.bisect_left(state["v"], horizon, key=lambda e: e[0])]
        return state if state["v"] else None

    @staticmethod
    def since(state: ScorerState, time: float) -> list[list]:
        """The entries at ``time`` or later (oldest first)."""
        if not state:
            return []
        entries = state["v"]
        return entries[bisect.bisect_left(entries, time, key=lambda e: e[0]):]

    def holds(self, state: ScorerState, ref: str, time: float) -> bool:
        """Whether the value learnt at ``time`` with this ``ref`` is in the history (a duplicate delivery)."""
        for entry in self.since(state, time):
            if entry[0] != time:
                return False
            if entry[2] == ref:
                return True
        return False

    @staticmethod
    def refs(state: ScorerState) -> set:
        return {e[2] for e in state["v"]} if state else set()


class EwmaScorer(Scorer):
    """z-score against an exponentially weighted mean and variance.

    ``alpha`` is the weight of each new value (a half-life of about
    ``0.69 / alpha`` values). Order-sensitive by nature: it assumes values in
    time order. State: ``{"n": count, "m": mean, "v": variance}``.
    """

    def __init__(self, alpha: float = 0.05, min_history: int = 30, min_std: float = 1e-9) -> None:
        if not 0 < alpha <= 1 or min_history < 1 or not min_std > 0:
            raise ValueError("alpha must be in (0, 1], min_history and min_std positive")
        self.alpha = alpha
        self.min_history = min_history
        self.min_std = min_std

    def score(self, state: ScorerState, value: float, time: float) -> float:
        value = _finite(value)
        if not state or state["n"] < self.min_history:
            return 0.0
        return (value - state["m"]) / max(math.sqrt(state["v"]), self.min_std)

    def learn(self, state: ScorerState, value: float, time: float, ref: str | None = None) -> ScorerState:
        value = _finite(value)
        if not state:
            return {"n": 1, "m": value, "v": 0.0}
        diff = value - state["m"]
        increment = self.alpha * diff
        state["m"] += increment
        state["v"] = (1 - self.alpha) * (state["v"] + diff * increment)
        state["n"] += 1
        return state


class CusumScorer(Scorer):
    """Two-sided CUSUM of values standardised by an EWMA mean and variance.

    Each value becomes ``z`` (as :class:`EwmaScorer` scores it, or the
    ``baseline`` given); the upper sum
    ``max(0, s+ + z - k)`` and lower sum ``max(0, s- - z - k)`` accumulate
    small persistent shifts that a single z misses. The score is the larger
    sum; once it passes ``reset_above`` both sums restart from zero, so one
    shift raises one run of high scores. ``alpha``, ``min_history`` and
    ``min_std`` build the default EWMA baseline; with ``baseline`` given they
    are not used. State: the baseline's state plus ``"p"`` and ``"q"`` (upper
    and lower sums).
    """

    def __init__(self, alpha: float = 0.05, k: float = 0.5, min_history: int = 30, min_std: float = 1e-9,
                 reset_above: float | None = 5.0, baseline: Scorer | None = None) -> None:
        if k < 0 or (reset_above is not None and not reset_above > 0):
            raise ValueError("k must not be negative and reset_above must be positive")
        #: What standardises each value (its z): an EWMA by default, or e.g. a :class:`SeasonalScorer`,
        #: whose state dict this scorer extends with the two sums.
        self.baseline = baseline or EwmaScorer(alpha, min_history, min_std)
        self.min_history = self.baseline.min_history
        self.k = k
        self.reset_above = reset_above

    def _sums(self, state: ScorerState, value: float, time: float) -> tuple[float, float]:
        z = self.baseline.score(state, value, time)
        if not state or state["n"] < self.min_history or "p" not in state:
            return 0.0, 0.0
        return max(0.0, state["p"] + z - self.k), max(0.0, state["q"] - z - self.k)

    def score(self, state: ScorerState, value: float, time: float) -> float:
        return max(self._sums(state, value, time))

    def learn(self, state: ScorerState, value: float, time: float, ref: str | None = None) -> ScorerState:
        upper, lower = self._sums(state, value, time)
        if self.reset_above is not None and max(upper, lower) > self.reset_above:
            upper = lower = 0.0
        state = self.baseline.learn(state, value, time)
        state["p"], state["q"] = upper, lower
        return state


#: Below this mean a Poisson tail is summed exactly; above it the Wilson-Hilferty approximation is within
#: a few per cent of the exact tail and costs nothing (an exact tail of a mean of 10^6 sums thousands of terms).
EXACT_POISSON_BELOW = 50.0
_NORMAL = NormalDist()


def _z_of_tail(p: float) -> float:
    """The z whose upper normal tail is ``p``: a tail probability in the units of a z-score."""
    return -_NORMAL.inv_cdf(min(max(p, 1e-300), 0.5))


def poisson_surprise(count: float, mean: float) -> float:
    """Signed surprise of ``count`` under Poisson(``mean``), as a z-score.

    Positive: ``P(X >= count)`` as the z of that upper tail (a spike); negative:
    ``P(X <= count)`` as minus the z of that lower tail (a drop); 0 when the
    count is at the mean. A fractional count (a quasi-Poisson scaled value) is
    rounded against surprise (up for a drop, down for a spike) below
    :data:`EXACT_POISSON_BELOW`, and read as is above it (Wilson-Hilferty:
    ``P(X >= k) = P(Gamma(k) <= mean)`` with ``(Gamma(k)/k)^(1/3)`` close to
    normal).

    >>> round(poisson_surprise(8, 2.0), 2)  # P(X >= 8) = 0.0011 under a mean of 2
    3.06
    >>> poisson_surprise(2, 2.0)
    0.0
    """
    if mean <= 0.0:
        raise ValueError("the mean of a Poisson count must be positive")
    if count > mean:
        if mean < EXACT_POISSON_BELOW:
            return _z_of_tail(poisson_sf(math.floor(count), mean))
        k = count
        return 3.0 * math.sqrt(k) * (1.0 - 1.0 / (9.0 * k) - (mean / k) ** (1.0 / 3.0))
    if count < mean:
        j = math.ceil(count)
        if mean < EXACT_POISSON_BELOW:
            log_mean = math.log(mean)
            lower = math.fsum(math.exp(i * log_mean - mean - math.lgamma(i + 1)) for i in range(j + 1))
            return -_z_of_tail(lower)
        k = count + 1.0  # P(X <= j) = P(Gamma(j + 1) > mean)
        return -3.0 * math.sqrt(k) * ((mean / k) ** (1.0 / 3.0) - 1.0 + 1.0 / (9.0 * k))
    return 0.0


class PoissonSpikeScorer(Scorer):
    """Counts per interval (complaints a day, requests a minute) against an
    overdispersed Poisson baseline: the quasi-Poisson test of outbreak
    detection (Farrington et al., 1996).

    The baseline is an EWMA mean ``m`` and variance ``v`` of the counts (as
    :class:`EwmaScorer` keeps them). Counts of real entities vary more than a
    Poisson count would (``v > m``: busy days, seasons), so the dispersion
    ``phi = max(1, v / m)`` scales them: ``count / phi`` is read as a Poisson
    count of mean ``m / phi``. With ``phi = 1`` this is the plain Poisson tail
    test of a rate detector; a series whose counts swing widely needs a larger
    spike. The score is :func:`poisson_surprise`, signed z units (positive: a
    spike). ``min_rate`` floors the mean, so that a quiet series (no complaint
    for weeks) does not make one complaint infinitely surprising. Values must
    be non-negative. State: the EWMA state ``{"n", "m", "v"}``.

    >>> scorer = PoissonSpikeScorer(alpha=0.1, min_history=5)
    >>> state = None
    >>> for day, complaints in enumerate([1, 0, 2, 1, 1, 0, 1]):
    ...     state = scorer.learn(state, complaints, day * 86_400.0)
    >>> round(scorer.score(state, 6, 7 * 86_400.0), 1)  # six complaints on a day that usually has one
    3.4
    """

    def __init__(self, alpha: float = 0.05, min_history: int = 30, min_rate: float = 0.05) -> None:
        if not min_rate > 0:
            raise ValueError("min_rate must be positive")
        self.baseline = EwmaScorer(alpha, min_history)
        self.min_history = min_history
        self.min_rate = min_rate

    @staticmethod
    def _count(value: float) -> float:
        value = _finite(value)
        if value < 0:
            raise ValueError(f"a count cannot be negative, got {value!r}")
        return value

    def score(self, state: ScorerState, value: float, time: float) -> float:
        count = self._count(value)
        if not state or state["n"] < self.min_history:
            return 0.0
        mean = max(state["m"], self.min_rate)
        dispersion = max(1.0, state["v"] / mean)
        return poisson_surprise(count / dispersion, mean / dispersion)

    def learn(self, state: ScorerState, value: float, time: float, ref: str | None = None) -> ScorerState:
        return self.baseline.learn(state, self._count(value), time)


class LikelihoodScorer(Scorer):
    """How unusual the recent scores of another scorer are, against that
    scorer's own score history: the "anomaly likelihood" step of Numenta's
    detectors (Ahmad et al., 2017), on any core of this module.

    ``inner`` scores each value (``|score|``: a departure either way). The
    mean of the last ``short`` of those is compared with an EWMA mean and
    standard deviation (weight ``alpha``) of all of them: the result is that
    z. A series whose inner scores are always high (a noisy metric, a
    seasonal swing the inner scorer does not model) gets a high baseline, so
    a threshold on this score means the same on every series, and a burst of
    moderately high inner scores counts as much as one very high score.
    ``0.0`` until the inner scorer and ``min_history`` inner scores are in.
    State: ``{"i": inner state, "c": values learnt, "s": [recent inner
    scores], "n", "m", "v"}`` (the EWMA of inner scores).
    """

    def __init__(self, inner: Scorer, short: int = 10, alpha: float = 0.002, min_history: int = 200,
                 min_std: float = 1e-6) -> None:
        if short < 1 or not 0 < alpha <= 1 or min_history < 1 or not min_std > 0:
            raise ValueError("short and min_history must be positive, alpha in (0, 1], min_std positive")
        self.inner = inner
        self.short = short
        self.history = EwmaScorer(alpha, min_history, min_std)
        self.min_history = inner.min_history + min_history

    def score(self, state: ScorerState, value: float, time: float) -> float:
        if not state or state["n"] < self.history.min_history:
            return 0.0
        raw = abs(self.inner.score(state["i"], value, time))
        recent = (state["s"] + [raw])[-self.short:]
        return self.history.score(state, sum(recent) / len(recent), time)

    def learn(self, state: ScorerState, value: float, time: float, ref: str | None = None) -> ScorerState:
        state = state or {"i": None, "c": 0, "s": [], "n": 0, "m": 0.0, "v": 0.0}
        # Inner scores count once the inner scorer scores at all (before, they are its 0.0 "not yet").
        if state["c"] >= self.inner.min_history:
            raw = abs(self.inner.score(state["i"], value, time))
            state["s"] = (state["s"] + [raw])[-self.short:]
            if state["n"] == 0:
                state.update(n=1, m=raw, v=0.0)
            else:
                self.history.learn(state, raw, time)  # updates "n", "m" and "v" in place
        state["i"] = self.inner.learn(state["i"], value, time, ref)
        state["c"] += 1
        return state


class SeasonalScorer(Scorer):
    """z-score of a value against a level plus a seasonal offset for its time
    of day: Holt-Winters forecasting with aberrant-behaviour detection
    (Brutlag, 2000), as RRDtool does it, for series with a daily rhythm
    (complaints by hour, payments by time of day, server load).

    The period ``period_s`` (a day) is cut into ``buckets`` slots by event
    time. The forecast of a value is the EWMA level (weight ``alpha``) plus the
    slot's offset, itself an EWMA (weight ``gamma``) of what values in that
    slot were above or below the level; the score is the forecast error over
    the EWMA standard deviation of past errors (weight ``alpha``). So a
    midnight dip that comes every night scores low once learnt, and the same
    value at noon scores high. State: ``{"n", "l": level, "o": [offset per
    slot], "v": error variance}``.

    >>> scorer = SeasonalScorer(period_s=4.0, buckets=2, alpha=0.1, gamma=0.5, min_history=8)
    >>> state = None
    >>> for t in range(40):  # high in the first half of each period, low in the second
    ...     state = scorer.learn(state, 10.0 if t % 4 < 2 else 0.0, float(t))
    >>> abs(scorer.score(state, 0.0, 42.0)) < 1 < scorer.score(state, 10.0, 42.0)
    True
    """

    def __init__(self, period_s: float = 86_400.0, buckets: int = 24, alpha: float = 0.02, gamma: float = 0.2,
                 min_history: int = 30, min_std: float = 1e-9) -> None:
        if not period_s > 0 or buckets < 1 or not 0 < alpha <= 1 or not 0 < gamma <= 1:
            raise ValueError("period_s and buckets must be positive, alpha and gamma in (0, 1]")
        if min_history < 1 or not min_std > 0:
            raise ValueError("min_history and min_std must be positive")
        self.period_s = period_s
        self.buckets = buckets
        self.alpha = alpha
        self.gamma = gamma
        self.min_history = min_history
        self.min_std = min_std

    def _slot(self, time: float) -> int:
        return int((time % self.period_s) / self.period_s * self.buckets) % self.buckets

    def score(self, state: ScorerState, value: float, time: float) -> float:
        value = _finite(value)
        if not state or state["n"] < self.min_history:
            return 0.0
        error = value - state["l"] - state["o"][self._slot(time)]
        return error / max(math.sqrt(state["v"]), self.min_std)

    def learn(self, state: ScorerState, value: float, time: float, ref: str | None = None) -> ScorerState:
        value = _finite(value)
        if not state:
            return {"n": 1, "l": value, "o": [0.0] * self.buckets, "v": 0.0}
        slot = self._slot(time)
        offsets = state["o"]
        error = value - state["l"] - offsets[slot]
        state["v"] = (1 - self.alpha) * (state["v"] + self.alpha * error * error)
        state["l"] += self.alpha * (value - offsets[slot] - state["l"])
        offsets[slot] += self.gamma * (value - state["l"] - offsets[slot])
        state["n"] += 1
        return state


class ContextNoveltyScorer(Scorer):
    """Share of the current step's contexts never seen before: the idea of
    the Contextual Anomaly Detector (Smirnov's CAD OSE in NAB), written from
    its description, not its code.

    Values are read on a grid fixed from the first ``min_history`` values:
    their range cut into ``bins`` cells (no look-ahead: the range is what the
    stream showed so far, not the file's). A value beyond that range falls in
    a cell past either end, at the same width, so a level the series never
    reached is a cell never seen: HTM's "spatial anomaly" comes out of the same
    rule. The cells of the last ``order`` steps give ``order`` contexts: the
    current cell alone, the pair ending in it, the triple, and so on. The
    score is the share of those contexts that were never seen before, in
    [0, 1]: 1.0 for a level the series never had, something in between for a
    known level reached by a path it never took (a spike down and back, a
    rhythm broken), and 0.0 for a step the series has made before. Once seen,
    a context scores 0 from then on, so a new regime raises one short run of
    scores and is then learnt.

    A flat warm-up (a metric at 0 for hours) has no range to cut: the grid
    waits for the first value that differs, which scores 1.0. Memory is
    bounded: at most ``capacity`` contexts, the least recently seen dropped
    first. State: ``{"n", "w": warm-up values (until the grid is fixed), "lo",
    "d": cell width, "r": [latest cells], "c": {context: times seen}}``.

    >>> scorer = ContextNoveltyScorer(bins=4, order=2, min_history=8)
    >>> state = None
    >>> for t in range(40):  # 0, 1, 2, 3, 0, 1, 2, 3, ...
    ...     state, score = scorer.score_one(state, float(t % 4), float(t))
    >>> score  # every cell and every step up has been seen
    0.0
    >>> scorer.score(state, 2.0, 40.0)  # a known level (cell 2), reached from cell 3 for the first time
    0.5
    >>> scorer.score(state, 9.0, 40.0)  # a level never reached
    1.0
    """

    def __init__(self, bins: int = 8, order: int = 3, min_history: int = 150, capacity: int = 20_000) -> None:
        if bins < 1 or order < 1 or min_history < 2 or capacity < order:
            raise ValueError("bins and order must be positive, min_history at least 2, capacity at least order")
        self.bins = bins
        self.order = order
        self.min_history = min_history
        self.capacity = capacity

    def _contexts(self, state: ScorerState, value: float) -> list[str]:
        cell = math.floor((value - state["lo"]) / state["d"])
        path = state["r"][-(self.order - 1):] + [cell] if self.order > 1 else [cell]
        return [",".join(map(str, path[i:])) for i in range(len(path) - 1, -1, -1)]

    def score(self, state: ScorerState, value: float, time: float) -> float:
        value = _finite(value)
        if not state or state["n"] < self.min_history:
            return 0.0
        if state["d"] is None:  # a flat warm-up: any other value is a level never seen
            return 0.0 if value == state["lo"] else 1.0
        contexts = self._contexts(state, value)
        return sum(c not in state["c"] for c in contexts) / len(contexts)

    def learn(self, state: ScorerState, value: float, time: float, ref: str | None = None) -> ScorerState:
        value = _finite(value)
        state = state or {"n": 0, "w": [], "lo": value, "d": None, "r": [], "c": {}}
        state["n"] += 1
        if state["d"] is None:
            warm_up = state["w"]
            warm_up.append(value)
            del warm_up[:-self.min_history]  # bounded while the series stays flat
            low, high = min(warm_up), max(warm_up)
            state["lo"] = low
            if state["n"] < self.min_history or high == low:
                return state
            state["d"] = (high - low) / self.bins
            state["w"] = None
            cells = [math.floor((x - low) / state["d"]) for x in warm_up]
        else:
            cells = [math.floor((value - state["lo"]) / state["d"])]
        for cell in cells:
            self._remember(state, cell)
        return state

    def _remember(self, state: ScorerState, cell: int) -> None:
        seen = state["c"]
        path = state["r"] = (state["r"] + [cell])[-self.order:]
        for i in range(len(path)):
            context = ",".join(map(str, path[i:]))
            seen[context] = seen.pop(context, 0) + 1  # re-inserted: the dict's order is least recently seen first
        while len(seen) > self.capacity:
            del seen[next(iter(seen))]


class RangeExcessScorer(Scorer):
    """How far a value lies beyond the range the series has shown so far, in
    units of that range: HTM's "spatial anomaly" rule (Numenta's detector
    flags a value beyond the learnt minimum or maximum by a margin), graded.

    ``0.0`` inside ``[low, high]``; above it ``(value - high) / (high - low)``,
    below it ``(low - value) / (high - low)`` (positive either way: a new
    extreme is an anomaly in both directions). ``min_range`` floors the range
    of a flat history. With ``release`` 0 (the default) an extreme is never
    forgotten; above 0, ``low`` and ``high`` relax towards each new value by
    that share of the gap (an envelope), so an old spike fades. Three numbers
    a series. State: ``{"n", "lo", "hi"}``.

    >>> scorer = RangeExcessScorer(min_history=3)
    >>> state = None
    >>> for t, x in enumerate([10.0, 14.0, 12.0]):
    ...     state = scorer.learn(state, x, float(t))
    >>> scorer.score(state, 13.0, 3.0), scorer.score(state, 16.0, 3.0), scorer.score(state, 8.0, 3.0)
    (0.0, 0.5, 0.5)
    """

    def __init__(self, min_history: int = 150, release: float = 0.0, min_range: float = 1e-9) -> None:
        if min_history < 1 or not min_range > 0 or not 0 <= release < 1:
            raise ValueError("min_history and min_range must be positive, release in [0, 1)")
        self.min_history = min_history
        self.release = release
        self.min_range = min_range

    def score(self, state: ScorerState, value: float, time: float) -> float:
        value = _finite(value)
        if not state or state["n"] < self.min_history:
            return 0.0
        beyond = max(value - state["hi"], state["lo"] - value, 0.0)
        return beyond / max(state["hi"] - state["lo"], self.min_range)

    def learn(self, state: ScorerState, value: float, time: float, ref: str | None = None) -> ScorerState:
        value = _finite(value)
        if not state:
            return {"n": 1, "lo": value, "hi": value}
        state["n"] += 1
        low, high = state["lo"], state["hi"]
        # An envelope: a new extreme is taken at once, an old one relaxes towards the value at rate ``release``.
        state["lo"] = min(value, low + self.release * (value - low))
        state["hi"] = max(value, high - self.release * (high - value))
        return state


class MaxOfScorers(Scorer):
    """The largest of several scorers' weighted scores: one alarm when any of
    them sees something (e.g. a seasonal CUSUM for drifts and a range excess
    for levels never reached). Each part's score counts upward only
    (``max(score, 0)``) times its weight, which puts the parts on one scale
    (a range excess of 0.01 weighted 1,000 counts as a CUSUM of 10).
    ``0.0`` until every part scores. State: ``{"n": values learnt, "p": [state
    of each part]}``.
    """

    def __init__(self, parts: Sequence[tuple[Scorer, float]]) -> None:
        if not parts or any(not weight > 0 for _, weight in parts):
            raise ValueError("at least one part, every weight positive")
        self.parts = tuple(parts)
        self.min_history = max(scorer.min_history for scorer, _ in self.parts)

    def score(self, state: ScorerState, value: float, time: float) -> float:
        if not state or state["n"] < self.min_history:
            return 0.0
        return max(weight * max(scorer.score(s, value, time), 0.0)
                   for (scorer, weight), s in zip(self.parts, state["p"]))

    def learn(self, state: ScorerState, value: float, time: float, ref: str | None = None) -> ScorerState:
        state = state or {"n": 0, "p": [None] * len(self.parts)}
        state["p"] = [scorer.learn(s, value, time, ref) for (scorer, _), s in zip(self.parts, state["p"])]
        state["n"] += 1
        return state
