"""Every detector keeps the promise of ``Detector.due``: below an entity's due time,
``advance`` changes nothing and finds nothing (the engine skips it there,
streams/due.py). Checked on every state the engine writes over generated streams,
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
    """Checks each state written against its detector's ``advance`` just below its due time."""

    def __init__(self, engine: RiskEngine, clock: list[float]) -> None:
        super().__init__()
        self.engine = engine
        self.clock = clock
        self.checked = 0
        self.timed = 0

    def set(self, key, value):
        super().set(key, value)
        det = self.engine.by_name[key.partition("|")[0]]
        due = det.due(value)
        if not math.isfinite(due):
            return
        self.timed += 1
        for watermark in {due - 1e-3, due - DAY, (due + self.clock[0]) / 2}:
            if watermark < self.clock[0]:
                continue  # sweeps only move forward from the event being applied
            state, found = det.advance(copy.deepcopy(value), watermark)
            assert found == [] and state == value, f"{key}: advance at {watermark} before due {due} acted"
            self.checked += 1


@pytest.mark.parametrize("seed", [3])
def test_advance_does_nothing_before_the_due_time(seed):
    config = GeneratorConfig(seed=seed, events=3000, customers=2000, days=120)
    events, _ = generate(config)
    decoded = [decode_event(orjson.dumps(g.event), None, 4e9) for g in events]
    engine = RiskEngine(DetectorConfig())
    clock = [-math.inf]
    store = CheckingStore(engine, clock)

    def timed():
        for event in decoded:
            clock[0] = max(clock[0], event.time)
            yield event

    alerts = list(run_events(engine, timed(), store))
    assert alerts and store.timed > 1000 and store.checked > 1000
    swept = {key.partition("|")[0] for key in store.data}
    assert {"amount_anomaly_customer", "rapid_in_out", "churning", "callbacks"} <= swept | {
        k.partition("|")[0] for k in engine.due._due}
