"""Distinct counts over a sliding event-time window in bounded memory.

:class:`WindowedDistinct` counts the distinct counterparts of one entity (the
policyholders an account pays for, the source accounts of transfers into an
account...) seen within a window. It keeps the ``exact_cap`` most recent
counterparts exactly (with the time and a reference, e.g. the event id, of
their latest appearance), which is all an ordinary account ever needs. The
first time the exact set overflows, it starts a small HyperLogLog per time
bucket (``buckets`` per window, 2^p one-byte registers each), seeded with
every counterpart it held, and from then on adds every counterpart to its
bucket too; the count for windows reaching back past the overflow is the
HyperLogLog estimate (standard error about ``1.04 / sqrt(2^p)``: 9% at the
default p = 7). Memory per entity is at most ``exact_cap`` entries plus
``buckets + 1`` register strings, however many counterparts pass through, and
no registers at all for an entity that never overflowed.

Adding the same counterpart twice is idempotent, so a duplicate delivery never
counts twice, and the count does not depend on arrival order.

State: ``{"x": {id: [time, ref]}, "o": latest time dropped from the exact set
or None, "h": [[bucket_start, registers_hex], ...]}``.

>>> counter = WindowedDistinct(window_s=100.0, exact_cap=3)
>>> state = None
>>> for t, who in enumerate("abcab"):
...     state = counter.add(state, who, float(t))
>>> counter.count(state, 0.0, 4.0)
(3.0, True)
>>> for t, who in enumerate("defgh", start=5):
...     state = counter.add(state, who, float(t))
>>> counter.count(state, 0.0, 9.0)  # 8 distinct: past the exact cap, estimated
(8.0, False)
"""
from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

SketchState = Any


def _hash64(item: str) -> int:
    return int.from_bytes(hashlib.blake2b(item.encode(), digest_size=8).digest(), "big")


def hll_empty(p: int) -> str:
    return "00" * (1 << p)


def hll_add(registers: str, item: str, p: int) -> str:
    """``registers`` (hex, one byte each) with ``item`` added."""
    h = _hash64(item)
    index = h >> (64 - p)
    rest = h & ((1 << (64 - p)) - 1)
    rank = (64 - p) - rest.bit_length() + 1
    current = int(registers[2 * index: 2 * index + 2], 16)
    if rank <= current:
        return registers
    return registers[: 2 * index] + f"{rank:02x}" + registers[2 * index + 2:]


def hll_estimate(register_sets: list[str], p: int) -> float:
    """Cardinality of the union of the given register sets (0.0 for none)."""
    if not register_sets:
        return 0.0
    m = 1 << p
    merged = np.max(np.stack([np.frombuffer(bytes.fromhex(r), dtype=np.uint8) for r in register_sets]), axis=0)
    alpha = 0.7213 / (1 + 1.079 / m)
    raw = alpha * m * m / float(np.sum(np.exp2(-merged.astype(float))))
    zeros = int(np.count_nonzero(merged == 0))
    if raw <= 2.5 * m and zeros:
        return m * math.log(m / zeros)  # linear counting for small cardinalities
    return raw


class WindowedDistinct:
    """Distinct items within ``[start, end]`` of event time; see the module docstring."""

    def __init__(self, window_s: float, exact_cap: int = 64, buckets: int = 8, p: int = 7) -> None:
        if not window_s > 0 or exact_cap < 1 or buckets < 1 or not 4 <= p <= 12:
            raise ValueError("window_s, exact_cap and buckets must be positive and p in 4..12")
        self.window_s = window_s
        self.exact_cap = exact_cap
        self.bucket_s = window_s / buckets
        self.p = p

    def add(self, state: SketchState, item: str, time: float, ref: str | None = None) -> SketchState:
        state = state or {"x": {}, "o": None, "h": []}
        exact: dict = state["x"]
        seen = exact.get(item)
        if seen is None or time > seen[0]:
            exact[item] = [time, ref]
        if state["h"]:  # sketching already: every counterpart goes into its bucket too
            self._sketch(state, item, time)
        if len(exact) > self.exact_cap:
            if not state["h"]:  # the first overflow: the exact set holds every counterpart so far
                for known, (at, _) in sorted(exact.items()):
                    self._sketch(state, known, at)
            oldest = min(exact, key=lambda k: (exact[k][0], k))
            dropped = exact.pop(oldest)[0]
            state["o"] = dropped if state["o"] is None else max(state["o"], dropped)
        return state

    def _sketch(self, state: dict, item: str, time: float) -> None:
        start = math.floor(time / self.bucket_s) * self.bucket_s
        buckets: list = state["h"]
        for bucket in buckets:
            if bucket[0] == start:
                bucket[1] = hll_add(bucket[1], item, self.p)
                return
        buckets.append([start, hll_add(hll_empty(self.p), item, self.p)])
        buckets.sort(key=lambda b: b[0])

    def members(self, state: SketchState, start: float, end: float) -> list[tuple[str, float, Any]]:
        """Exactly known items with their latest time in ``[start, end]``: (item, time, ref), by time."""
        if not state:
            return []
        found = [(k, v[0], v[1]) for k, v in state["x"].items() if start <= v[0] <= end]
        return sorted(found, key=lambda m: (m[1], m[0]))

    def count(self, state: SketchState, start: float, end: float) -> tuple[float, bool]:
        """(distinct items in ``[start, end]``, whether the count is exact).

        Exact while no item has been dropped from the exact set at or after
        ``start``; otherwise the HyperLogLog estimate over the buckets that
        overlap the range (never below the exact members), rounded.
        """
        exact = len(self.members(state, start, end))
        if not state or state["o"] is None or state["o"] < start:
            return float(exact), True
        sets = [b[1] for b in state["h"] if b[0] + self.bucket_s > start and b[0] <= end]
        return float(max(exact, round(hll_estimate(sets, self.p)))), False

    def forget_horizon(self, state: SketchState) -> float:
        """The lowest ``horizon`` at which :meth:`forget` may change ``state`` (minus infinity
        when it would drop the whole sketch at any horizon)."""
        if not state or not (state["x"] or state["h"]):
            return -math.inf
        return min([v[0] for v in state["x"].values()] + [b[0] + self.bucket_s for b in state["h"]]
                   + ([state["o"]] if state["o"] is not None else []))

    def forget(self, state: SketchState, horizon: float) -> SketchState:
        """Drop what lies wholly before ``horizon``; ``None`` once nothing is left."""
        if not state:
            return None
        state["x"] = {k: v for k, v in state["x"].items() if v[0] >= horizon}
        state["h"] = [b for b in state["h"] if b[0] + self.bucket_s > horizon]
        if state["o"] is not None and state["o"] < horizon:
            state["o"] = None
        return state if state["x"] or state["h"] else None
