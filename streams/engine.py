"""The core that turns decoded events into alerts: shared by the worker, ``replay``,
the benchmarks and the tests, so a backtest runs the very code production runs.

The engine owns the detectors and the tier policy, never Kafka. State lives in
a :class:`StateStore` handed in by the caller: a dict for ``replay``, a faust
table in the worker. Each stateful detector keeps the state of one entity under
``"<detector>|<entity id>"``; the worker routes an event to the partition that
owns that entity (see :meth:`RiskEngine.routes`) before calling
:meth:`RiskEngine.process_keyed`.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import detectors.catalog  # noqa: F401  (registers every detector)
from alerts.model import Alert
from alerts.tiering import TierPolicy
from detectors.base import REGISTRY, Detector, Finding, State
from detectors.config import DetectorConfig
from detectors.events import Event

#: How often (event time, seconds) stateful detectors are advanced: eviction of
#: expired state and timers for absent events.
SWEEP_INTERVAL_S = 3600.0


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


class RiskEngine:
    def __init__(self, config: DetectorConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.detectors = build_detectors(config)
        self.by_name = {d.name: d for d in self.detectors}
        self.policy = TierPolicy(config.version, clock)
        self._stateless: dict[str, list[Detector]] = {}
        self._keyed: dict[str, dict[str, list[Detector]]] = {}
        for det in self.detectors:
            for event_type in det.event_types:
                if det.keyspace is None:
                    self._stateless.setdefault(event_type, []).append(det)
                else:
                    self._keyed.setdefault(event_type, {}).setdefault(det.keyspace, []).append(det)

    @property
    def config_version(self) -> str:
        return self.config.version

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

    def process_stateless(self, event: Event) -> list[Alert]:
        findings: list[Finding] = []
        for det in self._stateless.get(event.event_type, ()):
            findings.extend(det.observe(event, None)[1])
        return [self.policy.alert_for(f) for f in findings]

    def process_keyed(self, event: Event, keyspace: str, entity: str, store: StateStore) -> list[Alert]:
        """Run the detectors of ``keyspace`` whose key for ``event`` is ``entity``."""
        findings: list[Finding] = []
        for det in self._keyed.get(event.event_type, {}).get(keyspace, ()):
            if det.key(event) != entity:
                continue
            key = state_key(det, entity)
            state, found = det.observe(event, store.get(key))
            self._store(store, key, state)
            findings.extend(found)
        return [self.policy.alert_for(f) for f in findings]

    def process(self, event: Event, store: StateStore) -> list[Alert]:
        """Everything for one event in one process (``replay`` and tests)."""
        alerts = self.process_stateless(event)
        for keyspace, entity in self.routes(event):
            alerts.extend(self.process_keyed(event, keyspace, entity, store))
        return alerts

    def advance(self, watermark: float, store: StateStore, keys: Iterable[str] | None = None) -> list[Alert]:
        """Advance every stateful entity (or only ``keys``) to ``watermark``."""
        findings: list[Finding] = []
        for key in list(store.keys() if keys is None else keys):
            name, _, _entity = key.partition("|")
            det = self.by_name.get(name)
            if det is None:
                continue
            state, found = det.advance(store.get(key), watermark)
            self._store(store, key, state)
            findings.extend(found)
        return [self.policy.alert_for(f) for f in findings]

    def keyspace_of(self, key: str) -> tuple[str, str] | None:
        """``(keyspace, entity)`` for a state key, or None if its detector is gone."""
        name, _, entity = key.partition("|")
        det = self.by_name.get(name)
        if det is None or det.keyspace is None:
            return None
        return det.keyspace, entity

    @staticmethod
    def _store(store: StateStore, key: str, state: State) -> None:
        if state is None:
            store.delete(key)
        else:
            store.set(key, state)


def run_events(engine: RiskEngine, events: Iterable[Event], store: StateStore | None = None) -> Iterator[Alert]:
    """Run events in order through ``engine`` with periodic sweeps (the replay loop)."""
    store = store if store is not None else DictStateStore()
    watermark = float("-inf")
    next_sweep = None
    for event in events:
        yield from engine.process(event, store)
        if event.time > watermark:
            watermark = event.time
            if next_sweep is None:
                next_sweep = watermark + SWEEP_INTERVAL_S
            elif watermark >= next_sweep:
                yield from engine.advance(watermark, store)
                next_sweep = watermark + SWEEP_INTERVAL_S
