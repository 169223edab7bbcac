"""The contract every registered detector keeps (river's ``check_estimator``).

Parametrised over ``detectors.base.REGISTRY``: a new detector is checked as soon
as it registers, and fails here until it adds a sample stream to
``SAMPLE_STREAMS`` below. A sample stream is a handful of events for one entity
that lie within one window of the detector and make it fire at least once.
"""
from __future__ import annotations

import doctest
import importlib
import itertools
import pkgutil
import random
import re
import time
from collections.abc import Callable

import orjson
import pytest

import detectors
from builders import DAY, HOUR, T0, advance_all, complaint, feed, payment, sale
from detectors.base import REGISTRY, Detector, Finding, Tier
from detectors.config import DetectorConfig
from detectors.events import Event
from streams.engine import build_detectors

# Every module of the package, so that a detector is checked even before the
# engine imports it.
DETECTOR_MODULES = [importlib.import_module(f"detectors.{m.name}") for m in pkgutil.iter_modules(detectors.__path__)]

SampleStream = Callable[[str, float, int], list[Event]]
"""(entity, start time, run) -> events; ``run`` makes the event ids of a repeat unique."""


def _banned_phrases_sample(entity: str, start: float, run: int) -> list[Event]:
    ids = (f"bp-{entity}-{run}-{i}" for i in itertools.count())
    return [
        sale(next(ids), "这款产品稳赚不赔，您放心", t=start, policy_id=f"P-{entity}"),
        sale(next(ids), "This plan protects your family.", t=start + HOUR, policy_id=f"P-{entity}-clean"),
        sale(next(ids), "Guaranteed returns, 零风险!", t=start + 2 * HOUR, policy_id=f"P-{entity}-2"),
    ]


def _structuring_sample(entity: str, start: float, run: int) -> list[Event]:
    # Five cash payments just under 50,000 within 24 h (high at the third,
    # critical at the fifth), plus payments the detector must ignore.
    ids = (f"st-{entity}-{run}-{i}" for i in itertools.count())
    account = f"ACC-{entity}"
    return [
        payment(next(ids), 45_000.0, t=start, account=account),
        payment(next(ids), 30_000.0, t=start + 1 * HOUR, account=account),  # below the band
        payment(next(ids), 46_000.0, t=start + 6 * HOUR, account=account),
        payment(next(ids), 45_000.0, t=start + 7 * HOUR, account=account, channel="bank_transfer"),
        payment(next(ids), 47_000.0, t=start + 12 * HOUR, account=account),
        payment(next(ids), 48_000.0, t=start + 18 * HOUR, account=account),
        payment(next(ids), 49_000.0, t=start + 24 * HOUR, account=account),
        payment(next(ids), 45_000.0, t=start + 25 * HOUR, account=f"{account}-other"),
    ]


def _complaint_spike_sample(entity: str, start: float, run: int) -> list[Event]:
    # Six complaints against one agent within 5 h (medium at the third, high at
    # the sixth), and one against a second agent.
    ids = (f"cs-{entity}-{run}-{i}" for i in itertools.count())
    agent = f"A-{entity}"
    events = [complaint(next(ids), t=start + i * HOUR, agent_id=agent) for i in range(6)]
    events.insert(2, complaint(next(ids), t=start + 1.5 * HOUR, agent_id=f"{agent}-other"))
    return events


SAMPLE_STREAMS: dict[str, SampleStream] = {
    "banned_phrases": _banned_phrases_sample,
    "structuring": _structuring_sample,
    "complaint_spike": _complaint_spike_sample,
}

DETECTOR_NAMES = sorted(REGISTRY)
PERSONAL_KEY = re.compile(r"name|phone|mobile|id_number|id_card|idcard|address|email")


def detector_named(name: str) -> Detector:
    """Built from the default config section, as the engine builds it."""
    return {d.name: d for d in build_detectors(DetectorConfig())}[name]


def sample(name: str, entity: str = "X", start: float = T0, run: int = 0) -> list[Event]:
    if name not in SAMPLE_STREAMS:
        pytest.fail(f"detector {name!r} is registered but has no sample stream: add one to SAMPLE_STREAMS")
    return SAMPLE_STREAMS[name](entity, start, run)


def findings(detector: Detector, events: list[Event]) -> list[Finding]:
    return feed(detector, events)[0]


def typologies(found: list[Finding]) -> set[tuple[str, str]]:
    return {(f.typology, f.entity_id) for f in found}


def test_registry_holds_the_shipped_detectors():
    assert {"banned_phrases", "structuring", "complaint_spike"} <= set(REGISTRY)


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_declares_its_interface(name):
    cls, config_attr = REGISTRY[name]
    assert cls.name == name
    assert isinstance(cls.version, str) and cls.version
    assert isinstance(cls.event_types, frozenset) and cls.event_types
    assert cls.keyspace is None or (isinstance(cls.keyspace, str) and cls.keyspace)
    assert hasattr(DetectorConfig(), config_attr), f"DetectorConfig has no section {config_attr!r}"
    assert cls.__doc__, f"{cls.__name__} needs a docstring with a runnable example"


@pytest.mark.parametrize("module", DETECTOR_MODULES, ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_sample_stream_exercises_the_detector(name):
    det = detector_named(name)
    events = sample(name)
    assert {e.event_type for e in events} <= det.event_types, "a sample holds only the detector's event types"
    assert len({e.event_id for e in events}) == len(events)
    assert findings(det, events), "the sample stream must make the detector fire"


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_deterministic(name):
    assert findings(detector_named(name), sample(name)) == findings(detector_named(name), sample(name))


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_state_round_trips_through_json_at_every_point(name):
    det = detector_named(name)
    events = sample(name)
    uninterrupted = findings(det, events)
    for cut in range(len(events) + 1):
        before, states = feed(det, events[:cut])
        restored = orjson.loads(orjson.dumps(states))
        assert restored == states, "state must survive JSON unchanged (no tuples, no non-str keys)"
        after, _ = feed(det, events[cut:], restored)
        assert before + after == uninterrupted, f"different findings after a restore at event {cut}"


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_duplicates_are_not_counted_twice(name):
    det = detector_named(name)
    events = sample(name)
    once = findings(det, events)
    twice = findings(det, [e for e in events for _ in range(2)])
    if det.keyspace is None:
        # Stateless: nothing to remember a delivery by, so a duplicate yields
        # the identical finding (the same alert id), which the alert layer dedupes.
        assert twice == [f for f in once for _ in range(2)]
    else:
        assert twice == once
        # The whole stream delivered again (a consumer restarting from an old offset).
        first, states = feed(det, events)
        again, _ = feed(det, events, states)
        assert again == []


def _orders(events: list[Event]) -> list[list[Event]]:
    """Other arrival orders of ``events``: all of them for a short sample,
    otherwise every adjacent swap, the reverse and a few seeded shuffles."""
    if len(events) <= 6:
        return [list(p) for p in itertools.permutations(events)]
    orders = []
    for i in range(len(events) - 1):
        swapped = list(events)
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        orders.append(swapped)
    orders.append(events[::-1])
    rng = random.Random(20231119)
    for _ in range(20):
        shuffled = list(events)
        rng.shuffle(shuffled)
        orders.append(shuffled)
    return orders


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_out_of_order_within_the_window_finds_the_same(name):
    det = detector_named(name)
    events = sample(name)
    expected = typologies(findings(det, events))
    for order in _orders(events):
        assert typologies(findings(det, order)) == expected, [e.event_id for e in order]


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_advancing_to_the_present_changes_nothing(name):
    """``advance`` only drops what has left the window: sweeping at each event's
    time between events of an in-order stream leaves the findings as they were."""
    det = detector_named(name)
    events = sample(name)
    states: dict = {}
    swept: list[Finding] = []
    for event in events:
        swept += feed(det, [event], states)[0]
        swept += advance_all(det, states, event.time)
    assert swept == findings(det, events)


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_state_is_bounded(name):
    """Many entities over five years, swept every 6 h of event time: only the
    entities seen recently keep state, and none is kept far past every window.

    Entities start 30 days apart, so at most 15 live at once means no entity is
    kept much longer than a year; a detector that must remember longer says why
    and changes this bound."""
    det = detector_named(name)
    entities = 60
    events = sorted(
        (e for k in range(entities) for e in sample(name, f"E{k}", T0 + k * 30 * DAY)),
        key=lambda e: e.time,
    )
    states: dict = {}
    live = []
    next_sweep = events[0].time
    for event in events:
        feed(det, [event], states)
        if event.time >= next_sweep:
            advance_all(det, states, event.time)
            next_sweep = event.time + 6 * HOUR
        live.append(len(states))
    assert max(live) <= entities // 4
    advance_all(det, states, events[-1].time + 10 * 365 * DAY)
    assert states == {}


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_state_of_one_entity_does_not_grow(name):
    """One entity active every week for a year and a half: its serialised state
    stays the size it had in the first months."""
    det = detector_named(name)
    states: dict = {}
    sizes = []
    for run in range(80):
        events = sample(name, "ONE", T0 + run * 7 * DAY, run)
        for event in events:
            feed(det, [event], states)
            advance_all(det, states, event.time)
            sizes.append(sum(len(orjson.dumps(s)) for s in states.values()))
    half = len(sizes) // 2
    assert max(sizes[half:]) <= 1.5 * max(sizes[:half]) + 64


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_findings_carry_evidence_and_no_personal_data(name):
    det = detector_named(name)
    events = sample(name)
    ids = {e.event_id for e in events}
    states: dict = {}
    seen = 0
    for event in events:
        for f in feed(det, [event], states)[0]:
            seen += 1
            assert (f.detector, f.detector_version) == (det.name, det.version)
            assert isinstance(f.tier, Tier)
            assert f.typology and f.tier_reason and f.summary and f.entity_type and f.entity_id
            if det.keyspace is not None:
                assert (f.entity_type, f.entity_id) == (det.keyspace, det.key(event))
            assert f.event_time == event.time
            assert f.window_start <= f.event_time
            event_ids = f.evidence.get("event_ids")
            assert isinstance(event_ids, list) and event_ids and set(event_ids) <= ids
            assert event.event_id in event_ids
            orjson.dumps(f.evidence)  # published as JSON on the alert topic
            assert not _personal_keys(f.evidence), _personal_keys(f.evidence)
            for dimension in (f.branch_id, f.partner_id):
                assert dimension is None or isinstance(dimension, str)
    assert seen


def _personal_keys(value) -> list[str]:
    if isinstance(value, dict):
        found = [k for k in value if PERSONAL_KEY.search(k.lower())]
        return found + [k for v in value.values() for k in _personal_keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in _personal_keys(v)]
    return []


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_never_reads_the_clock(name, monkeypatch):
    def no_clock(*_args):
        raise AssertionError("detectors work on event time and never read the clock")

    for attr in ("time", "time_ns", "monotonic", "monotonic_ns"):
        monkeypatch.setattr(time, attr, no_clock)
    det = detector_named(name)
    states: dict = {}
    for event in sample(name):
        feed(det, [event], states)
        advance_all(det, states, event.time + 400 * DAY)
