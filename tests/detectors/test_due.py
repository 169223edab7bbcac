"""Every detector, and the alert book, keep the promise of ``due``: below an entity's
(a subject's) due time, ``advance`` changes nothing and finds nothing (the engine skips it
there, streams/due.py). Checked on every state the engine writes over generated streams,
busy enough for windows to fill, expire and timers to fire."""
from __future__ import annotations

import copy
import math

import orjson
import pytest

from detectors.base import REGISTRY, Detector
from detectors.config import DetectorConfig
from streams.codec import decode_event
from streams.engine import DictStateStore, RiskEngine, run_events
from streams.generator import GeneratorConfig, generate

DAY = 86_400.0


def _owner(cls: type, name: str) -> type:
    return next(k for k in cls.__mro__ if name in vars(k))


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_due_is_defined_where_advance_is(name):
    """A subclass that overrides ``advance`` must not inherit a ``due`` written for another one."""
    cls = REGISTRY[name][0]
    advance, due = _owner(cls, "advance"), _owner(cls, "due")
    assert due is Detector or issubclass(due, advance), f"{cls.__name__}.due comes from {due.__name__}"


class CheckingStore(DictStateStore):
    """Checks each state written against ``advance`` just below its due time: a detector's
    (``book=False``) or the alert book's (``book=True``, state per subject)."""

    def __init__(self, engine: RiskEngine, clock: list[float], book: bool = False) -> None:
        super().__init__()
        self.engine = engine
        self.clock = clock
        self.book = book
        self.checked = 0
        self.timed = 0

    def _advance(self, key: str, state, watermark: float):
        if self.book:
            state, outcome = self.engine.book.advance(state, watermark)
            return state, outcome.records
        return self.engine.by_name[key.partition("|")[0]].advance(state, watermark)

    def set(self, key, value):
        super().set(key, value)
        due = (self.engine.book if self.book else self.engine.by_name[key.partition("|")[0]]).due(value)
        if not math.isfinite(due):
            return
        self.timed += 1
        for watermark in {due - 1e-3, due - DAY, (due + self.clock[0]) / 2}:
            if watermark < self.clock[0]:
                continue  # sweeps only move forward from the event being applied
            state, found = self._advance(key, copy.deepcopy(value), watermark)
            assert found == [] and state == value, f"{key}: advance at {watermark} before due {due} acted"
            self.checked += 1


@pytest.mark.parametrize("seed", [3])
def test_advance_does_nothing_before_the_due_time(seed):
    config = GeneratorConfig(seed=seed, events=3000, customers=2000, days=120)
    events, _ = generate(config)
    decoded = [decode_event(orjson.dumps(g.event), None, 4e9) for g in events]
    engine = RiskEngine(DetectorConfig())
    clock = [-math.inf]
    store, book = CheckingStore(engine, clock), CheckingStore(engine, clock, book=True)

    def timed():
        for event in decoded:
            clock[0] = max(clock[0], event.time)
            yield event

    alerts = list(run_events(engine, timed(), store, book))
    assert alerts and store.timed > 1000 and store.checked > 1000 and book.checked > 100
    swept = {key.partition("|")[0] for key in store.data}
    assert {"amount_anomaly_customer", "rapid_in_out", "churning", "callbacks"} <= swept | {
        k.partition("|")[0] for k in engine.due._due}
