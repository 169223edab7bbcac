"""Event-time alignment of the input stage's sources: read the source that is behind first.

The keyed stage holds every event until the low watermark, the slowest busy source
partition's newest event time, passes it (:mod:`streams.watermarks`). faust reads
every assigned partition as fast as it can, whatever their event times; with a
backlog the sources drift apart (the payment topic has twice the policy topic's
events, and the fetches serve partitions alike), and every event of a source that
runs ahead waits in memory. A million-event burst held 416,000 events that way
(worker at 1.6 GB, a census of its objects), growing with the backlog.

So, as Kafka Streams picks the partition with the lowest timestamp and Flink aligns
watermarks, the input stage pauses fetching from a busy source whose latest event
runs more than :attr:`SourceAlignment.max_lead_s` ahead of the slowest busy source,
and resumes it once the lead is half that. Held events are then bounded by the lead,
not by the backlog. An idle source (nothing left to read) holds nothing back and is
never paused. A source is compared by the time of its *latest* event, not its newest:
one event far in the future (accepted up to ``max_future_skew_s`` ahead) would keep
it paused for as long as the others stay busy; and a source paused longer than
:attr:`SourceAlignment.max_pause_s` of wall time is resumed anyway and left alone
until it has handled another message, so nothing is starved by a clock gone wrong.

Alignment is per worker: each pauses only the sources it reads.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

Source = tuple[str, int]


@dataclass
class SourceAlignment:
    """Which sources to pause and resume, from their latest event times (pure: the input
    stage feeds it and acts on its answers)."""

    #: Event-time seconds a busy source may run ahead of the slowest busy one before it pauses.
    max_lead_s: float = 300.0
    #: Wall seconds a source stays paused at most in one go.
    max_pause_s: float = 30.0
    #: source -> [latest event time handled, offset of the last message handled]
    latest: dict[Source, list[float]] = field(default_factory=dict)
    #: source -> wall time it was paused at
    paused: dict[Source, float] = field(default_factory=dict)
    #: source -> offset it was resumed at after max_pause_s: not paused again until it moves on
    released: dict[Source, int] = field(default_factory=dict)

    def handled(self, source: Source, offset: int, event_time: float | None) -> None:
        """One message of ``source`` handled (``event_time`` None: dead-lettered)."""
        mark = self.latest.setdefault(source, [float("-inf"), -1])
        mark[1] = offset
        if event_time is not None:
            mark[0] = event_time
        if source in self.released and offset > self.released[source]:
            del self.released[source]

    def decide(self, busy: Iterable[Source], now: float) -> tuple[set[Source], set[Source]]:
        """``(pause, resume)``: the sources to pause and those to resume now; ``busy`` are the
        assigned sources with something left to read, ``now`` the wall time."""
        busy = set(busy)
        known = [self.latest[s][0] for s in busy if s in self.latest]
        # A busy source with no event handled yet may hold the oldest events of all.
        slowest = min(known) if len(known) == len(busy) and known else float("-inf")
        pause: set[Source] = set()
        resume: set[Source] = set()
        for source in busy:
            lead = self.latest[source][0] - slowest if source in self.latest else 0.0
            if source in self.paused:
                if lead <= self.max_lead_s / 2:
                    resume.add(source)
                elif now - self.paused[source] >= self.max_pause_s:
                    resume.add(source)
                    self.released[source] = self.latest[source][1]
            elif lead > self.max_lead_s and source not in self.released:
                pause.add(source)
        resume.update(s for s in self.paused if s not in busy)  # idle or no longer assigned
        for source in resume:
            self.paused.pop(source, None)
        for source in pause:
            self.paused[source] = now
        return pause, resume

    def forget(self, sources: Iterable[Source]) -> None:
        """``sources`` left this worker (a rebalance): a new assignment starts unpaused, and
        a source that comes back starts afresh."""
        for source in sources:
            self.latest.pop(source, None)
            self.paused.pop(source, None)
            self.released.pop(source, None)
