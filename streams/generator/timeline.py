"""A business-day timeline: when things happen, in simulated event time.

The generator spreads ``events`` over ``duration_days(events)`` simulated days:
one day up to :data:`DAILY_EVENT_CAP` events (so the default 10,000 events are
one business day), longer beyond, so that a million events become ten days
rather than an implausible million sales in one afternoon.

Activity follows the local day in China (UTC+8): sales during office and
evening hours, service work (callbacks, complaints, claims) in office hours,
payments around the clock with a quiet night, and less of everything at
weekends. All times are integer epoch milliseconds.
"""
from __future__ import annotations

import bisect
from random import Random

#: Events per simulated day beyond which the timeline grows longer, not denser.
DAILY_EVENT_CAP = 100_000
#: China Standard Time, where the business day happens.
LOCAL_OFFSET_MS = 8 * 3_600_000
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

# Relative intensity by local hour 0..23.
_SALES = (0, 0, 0, 0, 0, 0, 0, 0.05, 0.3, 0.8, 1, 1, 0.6, 0.7, 1, 1, 1, 0.8, 0.6, 0.7, 0.5, 0.2, 0.05, 0)
_PAYMENTS = (0.15, 0.1, 0.08, 0.08, 0.1, 0.15, 0.3, 0.5, 0.8, 1, 1, 1, 0.9, 0.9, 1, 1, 1, 0.9, 0.8, 0.9,
             0.9, 0.7, 0.5, 0.3)
_SERVICE = (0, 0, 0, 0, 0, 0, 0, 0, 0.5, 1, 1, 1, 0.5, 0.8, 1, 1, 1, 0.8, 0.4, 0.2, 0.1, 0, 0, 0)
#: profile name -> (hourly intensity, weekend factor)
PROFILES: dict[str, tuple[tuple[float, ...], float]] = {
    "sales": (_SALES, 0.5),
    "payments": (_PAYMENTS, 0.8),
    "service": (_SERVICE, 0.3),
}


def duration_days(events: int) -> float:
    """Simulated days for ``events`` events: 1 up to the daily cap, then events / cap."""
    return max(1.0, events / DAILY_EVENT_CAP)


def local_hour(ms: int) -> int:
    """Hour of the day (0..23) in China Standard Time."""
    return ((ms + LOCAL_OFFSET_MS) // HOUR_MS) % 24


def is_weekend(ms: int) -> bool:
    # 1970-01-01 was a Thursday (Monday = 0 gives 3).
    return (((ms + LOCAL_OFFSET_MS) // DAY_MS) + 3) % 7 >= 5


def intensity(profile: str, ms: int) -> float:
    hourly, weekend = PROFILES[profile]
    value = hourly[local_hour(ms)]
    return value * weekend if is_weekend(ms) else value


class Timeline:
    """The simulated period ``[start_ms, end_ms)`` and samplers over it."""

    def __init__(self, start_ms: int, duration_ms: int) -> None:
        if duration_ms <= 0:
            raise ValueError("duration_ms must be positive")
        self.start_ms = start_ms
        self.end_ms = start_ms + duration_ms
        self._cum: dict[str, tuple[list[tuple[int, int]], list[float]]] = {}

    @classmethod
    def for_events(cls, start_s: float, events: int, days: float | None = None) -> "Timeline":
        """The timeline for ``events`` events starting at ``start_s`` (epoch seconds):
        ``days`` long if given (e.g. a quarter for the quarterly report), else
        :func:`duration_days` of ``events``."""
        return cls(round(start_s * 1000), round((days if days is not None else duration_days(events)) * DAY_MS))

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    def _bins(self, profile: str, lo: int, hi: int) -> tuple[list[tuple[int, int]], list[float]]:
        """Hour-aligned bins clipped to ``[lo, hi)`` and their cumulative weights."""
        bins: list[tuple[int, int]] = []
        cum: list[float] = []
        total = 0.0
        edge = lo - (lo + LOCAL_OFFSET_MS) % HOUR_MS
        while edge < hi:
            a, b = max(edge, lo), min(edge + HOUR_MS, hi)
            weight = intensity(profile, edge) * (b - a)
            if weight > 0:
                total += weight
                bins.append((a, b))
                cum.append(total)
            edge += HOUR_MS
        return bins, cum

    def sample(self, rng: Random, profile: str, lo: int | None = None, hi: int | None = None) -> int:
        """A time (epoch ms) in ``[lo, hi)`` (default: the whole timeline) drawn
        from the profile's intensity; uniform if the profile is closed throughout."""
        lo = self.start_ms if lo is None else max(lo, self.start_ms)
        hi = self.end_ms if hi is None else min(hi, self.end_ms)
        if hi <= lo:
            return lo
        if lo == self.start_ms and hi == self.end_ms:
            if profile not in self._cum:
                self._cum[profile] = self._bins(profile, lo, hi)
            return self._draw(rng, *self._cum[profile], lo, hi)
        return self.sample_any(rng, profile, lo, hi)

    def sample_any(self, rng: Random, profile: str, lo: int, hi: int) -> int:
        """A time (epoch ms) in ``[lo, hi)`` drawn from the profile's intensity, whether
        inside the timeline or not (business of the days before it)."""
        if hi <= lo:
            return lo
        return self._draw(rng, *self._bins(profile, lo, hi), lo, hi)

    def spread_any(self, rng: Random, profile: str, lo: int, hi: int, n: int) -> list[int]:
        """``n`` sorted times (epoch ms) in ``[lo, hi)``, inside the timeline or not, spread evenly
        over the profile's intensity: one drawn in each ``n``-th of it (so never bunched up)."""
        bins, cum = self._bins(profile, lo, hi)
        if not bins:
            return [lo + int((i + rng.random()) / n * (hi - lo)) for i in range(n)]
        out = []
        for i in range(n):
            target = (i + rng.random()) / n * cum[-1]
            index = min(bisect.bisect_right(cum, target), len(bins) - 1)
            below = cum[index - 1] if index else 0.0
            a, b = bins[index]
            out.append(a + int((target - below) / (cum[index] - below) * (b - a)))
        return out

    @staticmethod
    def _draw(rng: Random, bins: list[tuple[int, int]], cum: list[float], lo: int, hi: int) -> int:
        if not bins:
            return lo + int(rng.random() * (hi - lo))
        index = bisect.bisect_right(cum, rng.random() * cum[-1])
        a, b = bins[min(index, len(bins) - 1)]
        return a + int(rng.random() * (b - a))

    def next_open(self, rng: Random, profile: str, ms: int) -> int:
        """``ms`` if the profile is open then, else a time early in the next open hour.

        Used for work that waits for office hours (a callback after a sale at
        10 pm happens the next morning).
        """
        if intensity(profile, ms) > 0:
            return ms
        edge = ms - (ms + LOCAL_OFFSET_MS) % HOUR_MS
        for _ in range(24 * 7):
            edge += HOUR_MS
            if intensity(profile, edge) > 0:
                return edge + int(rng.random() * HOUR_MS)
        return ms
