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
from typing import Any

import numpy as np

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

    Each value becomes ``z`` (as :class:`EwmaScorer` scores it); the upper sum
    ``max(0, s+ + z - k)`` and lower sum ``max(0, s- - z - k)`` accumulate
    small persistent shifts that a single z misses. The score is the larger
    sum; once it passes ``reset_above`` both sums restart from zero, so one
    shift raises one run of high scores. State: the EWMA state plus ``"p"``
    and ``"q"`` (upper and lower sums).
    """

    def __init__(self, alpha: float = 0.05, k: float = 0.5, min_history: int = 30, min_std: float = 1e-9,
                 reset_above: float | None = 5.0) -> None:
        if k < 0 or (reset_above is not None and not reset_above > 0):
            raise ValueError("k must not be negative and reset_above must be positive")
        self.baseline = EwmaScorer(alpha, min_history, min_std)
        self.min_history = min_history
        self.k = k
        self.reset_above = reset_above

    def _sums(self, state: ScorerState, value: float, time: float) -> tuple[float, float]:
        z = self.baseline.score(state, value, time)
        if not state or state["n"] < self.min_history:
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
