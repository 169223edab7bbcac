"""Event-time watermarks across the worker's two hops, so that its timers fire
where ``replay``'s do.

``replay`` reads one file in time order: when it advances state to time ``W``,
every event at or before ``W`` has been applied. The worker reads three input
topics of several partitions each, at different speeds, and re-keys every event
through ``riskwatch.keyed-events``; the newest event time a keyed partition has
seen says nothing about the events still behind it on a slower source. So:

1. Each input stage notes, per *source partition* (input topic and partition),
   the newest event time and the offset it has handled (:class:`SourceMarks`),
   and every tick sends those marks to every keyed partition, after the events
   themselves (one producer, so in order on each partition), saying also
   whether the source is idle (nothing left to read on it).
2. A keyed partition holds its events (:class:`ReorderBuffer`) until the minimum
   over the busy source partitions passes them (:class:`LowWatermark`), then
   applies them in event-time order: the order ``replay`` reads a time-ordered
   file in. An idle source holds nothing back beyond what had been handled
   anywhere when its idleness was last reported (marks carry the wall time they
   were sent at): the word of a worker that has died goes stale at once.
3. Sweeps run on a fixed grid of event time (:func:`sweep_boundary`), in the
   worker and in ``replay`` alike, so both advance state to the same times and
   fire the same timers. After a sweep the keyed partition passes its boundary
   on to the alert stage, which takes the minimum over keyed partitions.

All of it is plain state, rebuilt from the next marks after a restart (until
every source has reported, the watermark stays where it was: nothing fires
early).
"""
from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: How often (event time, seconds) stateful detectors and the alert book are
#: advanced: eviction of expired state, timers for absent events, deadlines.
SWEEP_INTERVAL_S = 3600.0


def sweep_boundary(watermark: float, interval_s: float = SWEEP_INTERVAL_S) -> float:
    """The last grid point at or before ``watermark`` (``-inf`` stays ``-inf``)."""
    if math.isinf(watermark):
        return watermark
    return math.floor(watermark / interval_s) * interval_s


@dataclass
class SweepGrid:
    """Which grid boundary is due next: :meth:`due` returns a boundary once, when
    the watermark first reaches it, and None until the next one."""

    interval_s: float = SWEEP_INTERVAL_S
    last: float = float("-inf")

    def due(self, watermark: float) -> float | None:
        boundary = sweep_boundary(watermark, self.interval_s)
        if boundary <= self.last:
            return None
        self.last = boundary
        return boundary


@dataclass
class SourceMarks:
    """The input stage's progress per source partition ``(topic, partition)``."""

    #: source -> [newest event time, offset of the last message handled]
    progress: dict[tuple[str, int], list[float]] = field(default_factory=dict)

    def handled(self, source: tuple[str, int], offset: int, event_time: float | None) -> None:
        """One message handled (``event_time`` None: it was dead-lettered)."""
        mark = self.progress.setdefault(source, [float("-inf"), -1])
        mark[1] = max(mark[1], offset)
        if event_time is not None:
            mark[0] = max(mark[0], event_time)

    def started_at(self, source: tuple[str, int], position: int) -> None:
        """This worker reads ``source`` from ``position`` on (its committed offset): what
        lies before was handled by whoever held it before. Without this, a source taken
        over from a dead worker that had handled all of it would count as busy at no
        event time, and hold every keyed partition back for ever."""
        if source not in self.progress:
            self.progress[source] = [float("-inf"), position - 1]

    def marks(self, highwaters: Mapping[tuple[str, int], int | None]) -> dict[str, list]:
        """``[newest event time handled or None, idle]`` for each assigned source (``highwaters``:
        its log end, None if not known yet, and then it is left out). A source is idle
        when nothing is left to read on it: all its events are on their way already."""
        out: dict[str, list] = {}
        for source, highwater in highwaters.items():
            if highwater is None:
                continue
            time, offset = self.progress.get(source, (float("-inf"), -1))
            # None for "no event yet": JSON (the marks travel as JSON) has no infinity.
            out[source_name(source)] = [None if math.isinf(time) else time, offset + 1 >= highwater]
        return out


def source_name(source: tuple[str, int]) -> str:
    return f"{source[0]}:{source[1]}"


#: Mark messages remembered at most for :meth:`LowWatermark.heard_by` (see there).
MAX_HEARD = 100_000


@dataclass
class LowWatermark:
    """What the marks of an expected set of sources say, once every one has reported.

    A source with events still to read holds the others back at the newest time it
    has handled. An idle one says that everything on it was handled when the mark was
    sent, and nothing of what is produced later; so it holds the others back at the
    newest time any mark sent by then reported (:meth:`heard_by`): as long as its
    reader sends fresh marks every tick, that moves with the traffic, and once its
    reader dies it stops, until another worker takes the source over and reports it.
    (Trusting an idle mark for good let a survivor's sources carry the watermark past
    events still unread on a dead worker's sources, and absence timers fired early:
    ``tests/integration/test_crash.py``, scale-out.) Held events may be released up
    to :attr:`release_to` and state advanced to :attr:`value`: the same bound."""

    expected: frozenset[str]
    #: source -> [newest event time handled (kept at its maximum), idle (the latest word),
    #: wall time the latest mark was sent at]
    marks: dict[str, list] = field(default_factory=dict)
    #: (sent at, newest event time in that message) of mark messages not folded yet: a heap
    _heard: list[tuple[float, float]] = field(default_factory=list)
    #: the newest event time of the messages folded (all sent at or before ``_folded_to``)
    _folded_newest: float = float("-inf")
    _folded_to: float = float("-inf")

    def update(self, marks: Mapping[str, Sequence], sent_at: float | None = None) -> None:
        """One mark message; ``sent_at`` its sender's wall time (None, as in marks of
        older versions: counted as sent before any other)."""
        sent = float("-inf") if sent_at is None else float(sent_at)
        newest = float("-inf")
        for name, (time, idle) in marks.items():
            if name not in self.expected:
                continue
            handled = float("-inf") if time is None else time
            mark = self.marks.setdefault(name, [float("-inf"), idle, sent])
            mark[0], mark[1], mark[2] = max(mark[0], handled), idle, max(mark[2], sent)
            newest = max(newest, handled)
        if newest > float("-inf"):
            heapq.heappush(self._heard, (sent, newest))
        self._fold()

    def _fold(self) -> None:
        """Fold the messages no idle source can ask about any more: those sent at or
        before every source's latest mark (a source's next word is at least as new)."""
        if len(self.marks) < len(self.expected):
            horizon = float("-inf")
        else:
            horizon = min(sent for _, _, sent in self.marks.values())
        while self._heard and (self._heard[0][0] <= horizon or len(self._heard) > MAX_HEARD):
            sent, newest = heapq.heappop(self._heard)
            self._folded_newest = max(self._folded_newest, newest)
            self._folded_to = max(self._folded_to, sent)

    def heard_by(self, sent_at: float) -> float:
        """The newest event time that marks sent at or before ``sent_at`` reported."""
        newest = self._folded_newest if self._folded_to <= sent_at else float("-inf")
        return max([newest, *(t for sent, t in self._heard if sent <= sent_at)])

    @property
    def value(self) -> float:
        if len(self.marks) < len(self.expected):
            return float("-inf")
        busy = min((time for time, idle, _ in self.marks.values() if not idle), default=float("inf"))
        idle_since = min((sent for _, idle, sent in self.marks.values() if idle), default=None)
        return busy if idle_since is None else min(busy, self.heard_by(idle_since))

    #: Held events go as far as state advances.
    release_to = value


def expected_sources(topics: Iterable[str], partitions: int) -> frozenset[str]:
    """Every partition of the input topics (each has ``partitions``)."""
    return frozenset(source_name((topic, p)) for topic in topics for p in range(partitions))


@dataclass
class ReorderBuffer:
    """Events of one keyed partition held until its low watermark passes them, then
    released in event-time order (ties in arrival order): the order ``replay``
    reads a time-ordered file in, whatever the speeds of the input topics.

    Past ``capacity`` the oldest are released early, so that a source that stops
    reporting cannot make memory grow without bound (order is then best effort)."""

    capacity: int = 100_000
    #: A heap of (event time, arrival number, item).
    items: list[tuple[float, int, Any]] = field(default_factory=list)
    #: Everything at or before this has been released: a later arrival goes straight through.
    released_to: float = float("-inf")
    arrivals: int = 0

    def push(self, time: float, item: Any) -> list[Any]:
        """Hold ``item``; returns what must go now (itself if it is late, or the
        oldest held when over capacity)."""
        if time <= self.released_to:
            return [item]
        self.arrivals += 1
        heapq.heappush(self.items, (time, self.arrivals, item))
        if len(self.items) <= self.capacity:
            return []
        return [heapq.heappop(self.items)[2]]

    def release(self, watermark: float) -> list[Any]:
        """Everything at or before ``watermark`` (``inf``: everything), in event-time order."""
        out = []
        while self.items and self.items[0][0] <= watermark:
            time, _, item = heapq.heappop(self.items)
            out.append(item)
            self.released_to = max(self.released_to, time)
        if not math.isinf(watermark):
            self.released_to = max(self.released_to, watermark)
        return out

    def __len__(self) -> int:
        return len(self.items)
