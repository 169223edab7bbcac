"""The core that turns decoded events into alerts: shared by the worker, ``replay``,
the benchmarks and the tests, so a backtest runs the very code production runs.

Two stages, each with state handed in by the caller (a dict for ``replay``, a
faust table in the worker):

1. **Detection**: the detectors, with the state of one entity kept under
   ``"<detector>|<entity id>"``. The worker routes an event to the partition
   that owns each entity (see :meth:`RiskEngine.routes`) before calling
   :meth:`RiskEngine.detect_keyed`.
2. **Alerting**: the :class:`~alerts.book.AlertBook` turns findings and actions
   into alert records, with the state of one correlation subject (a customer,
   an agent...) kept under the subject.
"""
from __future__ import annotations

import time
from dataclasses import replace
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import detectors.catalog  # noqa: F401  (registers every detector)
from alerts.book import AlertBook, Outcome, subject_of
from alerts.model import Alert
from alerts.policy import AlertPolicyConfig
from alerts.runbooks import runbook_links
from detectors.base import REGISTRY, Detector, Finding, State
from detectors.config import DetectorConfig
from detectors.events import Event
from detectors.registry import PartnerRecord, PartnerRegistry
from streams.due import DueIndex
from streams.watermarks import SweepGrid


class StateStore(Protocol):
    def get(self, key: str) -> State: ...
    def set(self, key: str, value: State) -> None: ...
    def delete(self, key: str) -> None: ...
    def keys(self) -> Iterable[str]: ...


class DictStateStore:
    """In-process state for ``replay`` and tests."""

    def __init__(self) -> None:
        self.data: dict[str, State] = {}

    def get(self, key: str) -> State:
        return self.data.get(key)

    def set(self, key: str, value: State) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def keys(self) -> Iterable[str]:
        return list(self.data)


def build_detectors(config: DetectorConfig) -> list[Detector]:
    """One instance of every registered detector, from its config section."""
    return [cls(getattr(config, attr)) for cls, attr in REGISTRY.values()]


def state_key(detector: Detector, entity: str) -> str:
    return f"{detector.name}|{entity}"


def _put(store: StateStore, key: str, state: State) -> None:
    if state is None:
        store.delete(key)
    else:
        store.set(key, state)


class RiskEngine:
    def __init__(self, config: DetectorConfig, clock: Callable[[], float] = time.time,
                 policy: AlertPolicyConfig | None = None, timed: bool = False,
                 registry: PartnerRegistry | None = None, runbook_base_url: str | None = None) -> None:
        from streams.settings import config_version

        self.config = config
        self.policy = policy or AlertPolicyConfig()
        self.config_version = config_version(config, self.policy)
        self.detectors = build_detectors(config)
        self.by_name = {d.name: d for d in self.detectors}
        self.book = AlertBook(self.policy, self.config_version, clock, runbook_links(runbook_base_url))
        #: The partner registry events are judged against (the worker's is a view of its global table).
        self.registry = registry if registry is not None else PartnerRegistry()
        #: detector -> [seconds spent in observe, calls], kept when ``timed`` (the
        #: worker exports it); replay leaves it off to stay fast.
        self.timings: dict[str, list[float]] | None = {d.name: [0.0, 0] for d in self.detectors} if timed else None
        #: When each entity's state, and each subject's alerts, are next due for a sweep (:mod:`streams.due`).
        self.due = DueIndex()
        self.book_due = DueIndex()
        self._stateless: dict[str, list[Detector]] = {}
        self._keyed: dict[str, dict[str, list[Detector]]] = {}
        for det in self.detectors:
            for event_type in det.event_types:
                if det.keyspace is None:
                    self._stateless.setdefault(event_type, []).append(det)
                else:
                    self._keyed.setdefault(event_type, {}).setdefault(det.keyspace, []).append(det)

    # --- detection -----------------------------------------------------------------
    def with_partner(self, event: Event) -> Event:
        """``event`` with the registry standing of its partner at its event time attached
        (``Event.partner``), so that detectors judge it by the registry as it was then.
        Called once, where an event enters (the worker's input stage, :meth:`detect`)."""
        if event.partner_id is None or event.partner is not None:
            return event
        standing = self.registry.standing(event.partner_id, event.time)
        return event if standing is None else replace(event, partner=standing)

    def routes(self, event: Event) -> list[tuple[str, str]]:
        """The distinct ``(keyspace, entity id)`` pairs whose state this event updates."""
        out: list[tuple[str, str]] = []
        for keyspace, dets in self._keyed.get(event.event_type, {}).items():
            seen: set[str] = set()
            for det in dets:
                entity = det.key(event)
                if entity is not None and entity not in seen:
                    seen.add(entity)
                    out.append((keyspace, entity))
        return out

    def detect_stateless(self, event: Event) -> list[Finding]:
        findings: list[Finding] = []
        for det in self._stateless.get(event.event_type, ()):
            findings.extend(self._observe(det, event, None)[1])
        return findings

    def _observe(self, det: Detector, event: Event, state: State) -> tuple[State, list[Finding]]:
        if self.timings is None:
            return det.observe(event, state)
        started = time.perf_counter()
        result = det.observe(event, state)
        slot = self.timings[det.name]
        slot[0] += time.perf_counter() - started
        slot[1] += 1
        return result

    def detect_keyed(self, event: Event, keyspace: str, entity: str, store: StateStore) -> list[Finding]:
        """Run the detectors of ``keyspace`` whose key for ``event`` is ``entity``."""
        findings: list[Finding] = []
        for det in self._keyed.get(event.event_type, {}).get(keyspace, ()):
            if det.key(event) != entity:
                continue
            key = state_key(det, entity)
            state, found = self._observe(det, event, store.get(key))
            self._put_state(store, det, key, state)
            findings.extend(found)
        return findings

    def _put_state(self, store: StateStore, det: Detector, key: str, state: State) -> None:
        _put(store, key, state)
        self.due.note(key, None if state is None else det.due(state))

    def detect(self, event: Event, store: StateStore) -> list[Finding]:
        """Every detector for one event in one process (``replay`` and tests)."""
        event = self.with_partner(event)
        findings = self.detect_stateless(event)
        for keyspace, entity in self.routes(event):
            findings.extend(self.detect_keyed(event, keyspace, entity, store))
        return findings

    def due_keys(self, watermark: float, store: StateStore, owned: Callable[[str], bool] | None = None) -> list[str]:
        """The state keys (of those ``owned``) a sweep to ``watermark`` must advance; the
        caller passes them all to :meth:`advance_detectors` (:mod:`streams.due`)."""
        return self.due.due_keys(watermark, store, owned)

    def advance_detectors(self, watermark: float, store: StateStore, keys: Iterable[str] | None = None) -> list[Finding]:
        """Advance the entities due by ``watermark`` (or ``keys``, from :meth:`due_keys`) to it."""
        findings: list[Finding] = []
        for key in list(self.due_keys(watermark, store) if keys is None else keys):
            name, _, _entity = key.partition("|")
            det = self.by_name.get(name)
            if det is None:
                self.due.note(key, None)
                continue
            state, found = det.advance(store.get(key), watermark)
            self._put_state(store, det, key, state)
            findings.extend(found)
        return findings

    def keyspace_of(self, key: str) -> tuple[str, str] | None:
        """``(keyspace, entity)`` for a state key, or None if its detector is gone."""
        name, _, entity = key.partition("|")
        det = self.by_name.get(name)
        if det is None or det.keyspace is None:
            return None
        return det.keyspace, entity

    # --- alerting ------------------------------------------------------------------
    @staticmethod
    def subject_of(finding: Finding) -> str:
        return subject_of(finding)

    def _put_alerts(self, book: StateStore, subject: str, state: State) -> None:
        _put(book, subject, state)
        self.book_due.note(subject, None if state is None else self.book.due(state))

    def alert(self, finding: Finding, book: StateStore) -> Outcome:
        subject = subject_of(finding)
        state, outcome = self.book.on_finding(finding, book.get(subject))
        self._put_alerts(book, subject, state)
        return outcome

    def act(self, action: dict, book: StateStore) -> Outcome:
        """Apply a validated action (``streams.actions.decode_action``)."""
        subject = action["subject"]
        state, outcome = self.book.on_action(action, book.get(subject))
        self._put_alerts(book, subject, state)
        return outcome

    def due_subjects(self, watermark: float, book: StateStore, owned: Callable[[str], bool] | None = None) -> list[str]:
        """The subjects (of those ``owned``) whose alerts a sweep to ``watermark`` must advance."""
        return self.book_due.due_keys(watermark, book, owned)

    def advance_alerts(self, watermark: float, book: StateStore, subjects: Iterable[str] | None = None) -> Outcome:
        """Advance the alerts of the subjects due by ``watermark`` (or ``subjects``, from :meth:`due_subjects`)."""
        outcome = Outcome()
        for subject in list(self.due_subjects(watermark, book) if subjects is None else subjects):
            state, step = self.book.advance(book.get(subject), watermark)
            self._put_alerts(book, subject, state)
            outcome.extend(step)
        return outcome


def run_events(engine: RiskEngine, events: Iterable[Event | PartnerRecord], store: StateStore | None = None,
               book: StateStore | None = None) -> Iterator[Alert]:
    """Run events in order through ``engine`` with sweeps on the grid of
    :mod:`streams.watermarks` (the replay loop; the worker sweeps on the same grid).

    Partner registry records among the events update ``engine.registry`` where
    they stand (their status changes take effect at their own effective times).
    Yields every alert record (openings, updates, escalations, resolutions).
    """
    store = store if store is not None else DictStateStore()
    book = book if book is not None else DictStateStore()
    grid = SweepGrid()
    for event in events:
        if isinstance(event, PartnerRecord):
            engine.registry.apply(event)
            continue
        for finding in engine.detect(event, store):
            yield from engine.alert(finding, book).records
        boundary = grid.due(event.time)
        if boundary is not None:
            for finding in engine.advance_detectors(boundary, store):
                yield from engine.alert(finding, book).records
            yield from engine.advance_alerts(boundary, book).records


def opened(alerts: Iterable[Alert]) -> dict[str, Alert]:
    """The first record of each alert id: what was raised, ignoring later lifecycle records."""
    first: dict[str, Alert] = {}
    for alert in alerts:
        first.setdefault(alert.alert_id, alert)
    return first
