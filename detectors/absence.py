"""Deadlines on event time: the *absence* of an event as a finding.

An opening event (a policy issued, a claim reported, a complaint filed) starts
a clock; a closing event (a successful callback, the settlement, the
resolution) stops it. A subclass of :class:`DeadlineDetector` says which events
open and close an *episode* (one policy's callback, one claim, one complaint)
and how long the deadline is; the core keeps the timers and raises the finding:

* from :meth:`DeadlineDetector.advance`, when event time (the watermark) passes
  the deadline with no closing event: the finding's ``event_time`` is the
  deadline itself, so it does not depend on when the sweep ran. The engine
  advances every stateful entity once an hour of event time; in the worker the
  state lives in the changelogged state table, so a timer survives a restart;
* from :meth:`DeadlineDetector.observe`, when the closing event arrives after
  the deadline before a sweep noticed (``event_time`` is that event's time).

Both carry the same ``window_start`` (the opening time), hence the same alert
id. A closing event that arrives before its opening (out of order) is kept and
judged when the opening comes. An episode is kept ``retention_s`` after it is
decided (closed in time, or fired), so a duplicate delivery is recognised; a
closing event with no opening is forgotten after ``retention_s`` too. A
deadline is met when the closing event's time is at or before it.

State per entity: ``{"k": entity id, "e": {episode id: episode}}``, an episode
being ``{"o": opening time or None, "oi": its event id, "d": deadline, "c":
closing time or None, "ci": its event id, "x": figures for the finding, "a":
[[time, event id], ...] other events noted on it (a subclass's), "f": fired}``.
"""
from __future__ import annotations

import bisect
import math
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from detectors.base import Detector, Finding, State, earliest
from detectors.events import Event

HOUR = 3600.0
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Opening:
    """An event starts the clock of ``episode``: the deadline is ``due_s`` later."""

    episode: str
    due_s: float
    #: Figures kept for the finding (identifiers and numbers, no personal data).
    info: dict[str, Any] = field(default_factory=dict)


def new_episode() -> dict[str, Any]:
    return {"o": None, "oi": None, "d": None, "c": None, "ci": None, "x": {}, "a": [], "f": False}


class DeadlineDetector(Detector):
    """The timer core; subclasses define :meth:`opening`, :meth:`closing` and
    :meth:`overdue` (the finding), and have ``config.retention_s``."""

    typology: ClassVar[str]

    def __init__(self, config: Any) -> None:
        self.config = config

    @abstractmethod
    def opening(self, event: Event) -> Opening | None:
        """The episode ``event`` opens and its deadline, or None."""

    @abstractmethod
    def closing(self, event: Event) -> str | None:
        """The episode ``event`` closes, or None."""

    @abstractmethod
    def overdue(self, entity: str, episode_id: str, episode: dict, event_time: float,
                trigger: Event | None) -> Finding:
        """The finding for an episode past its deadline; ``trigger`` is the late
        closing (or opening) event, or None when a timer fired."""

    # --- state helpers ------------------------------------------------------------
    def episode(self, state: State, event: Event, episode_id: str) -> tuple[dict, dict]:
        """The entity's state (created if None) and its episode ``episode_id`` (created if new)."""
        state = state or {"k": self.key(event), "e": {}}
        return state, state["e"].setdefault(episode_id, new_episode())

    @staticmethod
    def note(episode: dict, event: Event) -> bool:
        """Note ``event`` on the episode (sorted by time); False if it was noted already."""
        notes = episode["a"]
        if any(n[1] == event.event_id for n in notes):
            return False
        bisect.insort(notes, [event.time, event.event_id])
        return True

    # --- the interface ------------------------------------------------------------
    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        opened = self.opening(event)
        closed = self.closing(event)
        if opened is None and closed is None:
            return state, []
        state, ep = self.episode(state, event, opened.episode if opened else closed)
        if opened is not None and event.event_id != ep["oi"] and (ep["o"] is None or event.time < ep["o"]):
            # The earliest opening counts (a corrected re-send does not move the deadline later).
            ep.update(o=event.time, oi=event.event_id, d=event.time + opened.due_s, x=opened.info)
        if closed is not None and event.event_id != ep["ci"] and (ep["c"] is None or event.time < ep["c"]):
            ep.update(c=event.time, ci=event.event_id)
        if ep["o"] is not None and not ep["f"] and ep["c"] is not None and ep["c"] > ep["d"]:
            ep["f"] = True  # closed, but too late: a sweep would have fired had it run in time
            return state, [self.overdue(state["k"], opened.episode if opened else closed, ep, event.time, event)]
        return state, []

    def advance(self, state: State, watermark: float) -> tuple[State, list[Finding]]:
        if not state:
            return None, []
        findings = []
        retention = self.config.retention_s
        for episode_id in sorted(state["e"]):
            ep = state["e"][episode_id]
            if ep["o"] is not None and not ep["f"] and ep["c"] is None and watermark >= ep["d"]:
                ep["f"] = True
                findings.append(self.overdue(state["k"], episode_id, ep, ep["d"], None))
            ep["a"] = [n for n in ep["a"] if n[0] >= watermark - retention]
            decided = ep["o"] is None or ep["f"] or ep["c"] is not None
            times = [t for t in (ep["o"], ep["d"], ep["c"], *(n[0] for n in ep["a"])) if t is not None]
            if not times or (decided and watermark - max(times) > retention):
                del state["e"][episode_id]
        return (state if state["e"] else None), findings

    def due(self, state: State) -> float:
        """The first deadline still running, note leaving the retention, or decided episode
        to forget (an undecided episode becomes decided only when its deadline fires)."""
        retention = self.config.retention_s
        due: list[float] = []
        for ep in state["e"].values():
            notes = [n[0] for n in ep["a"]]
            times = [t for t in (ep["o"], ep["d"], ep["c"], *notes) if t is not None]
            if not times:
                return -math.inf
            if ep["o"] is not None and not ep["f"] and ep["c"] is None:
                due.append(ep["d"])
            else:
                due.append(max(times) + retention)
            due.extend(t + retention for t in notes)
        return earliest(due)


def event_ids(episode: dict, trigger: Event | None = None) -> list[str]:
    """The ids of the events behind an episode: opening, noted events, closing, trigger."""
    ids = [episode["oi"], *(n[1] for n in episode["a"]), episode["ci"]]
    if trigger is not None:
        ids.append(trigger.event_id)
    out: list[str] = []
    for i in ids:
        if i is not None and i not in out:
            out.append(i)
    return out
