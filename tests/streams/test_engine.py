"""The engine core: routing, keyed and stateless processing, alert identity, sweeps."""
from __future__ import annotations

import importlib
import pkgutil

import pytest

import detectors
from alerts.model import alert_id
from builders import DAY, HOUR, T0, at, complaint, payment, sale
from detectors.base import REGISTRY, Tier
from detectors.config import DetectorConfig, apply_overrides
from detectors.events import Event
from streams.engine import DictStateStore, RiskEngine, run_events


def engine(now: float = T0 + DAY) -> RiskEngine:
    return RiskEngine(DetectorConfig(), clock=lambda: now)


def mixed_stream() -> list[Event]:
    """A banned phrase, a structuring episode raised to critical, a complaint spike."""
    return sorted(
        [
            sale("s1", "保证收益，零风险", t=at(0.5)),
            sale("s2", "Please read the exclusions.", t=at(0.6), policy_id="P2"),
            *[payment(f"p{i}", 45_000.0 + i, t=at(i)) for i in range(5)],
            payment("q1", 45_000.0, t=at(1.5), account="ACC2", channel="bank_transfer"),
            *[complaint(f"c{i}", t=at(i + 0.25)) for i in range(3)],
            Event("r1", "complaint_resolved", "complaint", at(4), complaint_id="CP-c0", customer_id="C1"),
        ],
        key=lambda e: e.time,
    )


def test_the_engine_runs_every_registered_detector():
    for module in pkgutil.iter_modules(detectors.__path__):
        importlib.import_module(f"detectors.{module.name}")
    assert {d.name for d in engine().detectors} == set(REGISTRY)


@pytest.mark.parametrize(
    "event, routes",
    [
        (payment("p1", 45_000.0), [("account", "ACC1")]),
        (payment("p1", 45_000.0, channel="bank_transfer"), []),
        (payment("p1", 45_000.0, channel="mobile"), []),
        (complaint("c1"), [("agent", "A1")]),
        (sale("s1", "稳赚不赔"), []),  # banned phrases keep no state
        (Event("r1", "complaint_resolved", "complaint", T0, complaint_id="CP1", customer_id="C1"), []),
    ],
)
def test_routes(event, routes):
    assert engine().routes(event) == routes


def test_process_is_stateless_plus_keyed():
    whole, split = engine(), engine()
    whole_store, split_store = DictStateStore(), DictStateStore()
    for event in mixed_stream():
        expected = split.process_stateless(event)
        for keyspace, entity in split.routes(event):
            expected += split.process_keyed(event, keyspace, entity, split_store)
        assert whole.process(event, whole_store) == expected
    assert whole_store.data == split_store.data


def test_process_keyed_ignores_an_entity_the_event_does_not_belong_to():
    store = DictStateStore()
    assert engine().process_keyed(payment("p1", 45_000.0), "account", "ACC9", store) == []
    assert store.data == {}


def test_alerts_of_the_mixed_stream():
    alerts = list(run_events(engine(), mixed_stream()))
    summary = [(a.detector, a.entity_id, a.tier) for a in alerts]
    assert summary == [
        ("banned_phrases", "P1", Tier.CRITICAL),  # 0.5 h
        ("structuring", "ACC1", Tier.HIGH),  # third payment, 2 h
        ("complaint_spike", "A1", Tier.MEDIUM),  # third complaint, 2.25 h
        ("structuring", "ACC1", Tier.CRITICAL),  # fifth payment, 4 h
    ]
    for a in alerts:
        assert a.alert_id == alert_id(a.detector, a.entity_type, a.entity_id, a.window_start)
        assert a.config_version == DetectorConfig().version
    # The escalation to critical is the same alert: same id, higher tier.
    assert alerts[1].alert_id == alerts[3].alert_id == "2119017ace7c7918809db9c8"


def test_alert_ids_do_not_depend_on_the_wall_clock():
    early = list(run_events(engine(now=T0), mixed_stream()))
    late = list(run_events(engine(now=T0 + 365 * DAY), mixed_stream()))
    assert [a.alert_id for a in early] == [a.alert_id for a in late]
    assert {a.emitted_at for a in early} == {T0}
    assert {a.emitted_at for a in late} == {T0 + 365 * DAY}


def test_config_version_follows_the_thresholds():
    config = apply_overrides(DetectorConfig(), {"structuring": {"min_payments": 4}})
    eng = RiskEngine(config, clock=lambda: T0)
    assert eng.config_version == config.version != DetectorConfig().version


def test_run_events_sweeps_expired_state():
    # One near-threshold cash payment a day by a different account for 50 days,
    # and one complaint on day 0. Structuring keeps a payment for two 72 h
    # windows (6 days): after the sweep at day 49, days 43..49 remain. The
    # agent is kept 180 days, so is still there.
    events = [payment(f"p{d}", 45_000.0, t=T0 + d * DAY, account=f"ACC{d}") for d in range(50)]
    events.insert(1, complaint("c0", t=T0 + HOUR))
    store = DictStateStore()
    assert list(run_events(engine(), events, store)) == []
    assert sorted(store.data) == sorted([f"structuring|ACC{d}" for d in range(43, 50)] + ["complaint_spike|A1"])

    # Without sweeps nothing is ever dropped.
    unswept = DictStateStore()
    eng = engine()
    for event in events:
        eng.process(event, unswept)
    assert len(unswept.data) == 51

    # 181 days after the complaint, the agent is gone as well.
    later = [payment("late", 45_000.0, t=T0 + 181 * DAY, account="ACC-late")]
    list(run_events(engine(), later, store))  # first event only sets the next sweep
    engine().advance(T0 + 181 * DAY, store)
    assert sorted(store.data) == ["structuring|ACC-late"]


def test_sweeps_do_not_change_the_alerts_of_an_in_order_stream():
    events = mixed_stream()
    eng, store = engine(), DictStateStore()
    plain = [a for e in events for a in eng.process(e, store)]
    assert list(run_events(engine(), events)) == plain


def test_advance_only_the_given_keys():
    store = DictStateStore()
    eng = engine()
    eng.process(payment("p1", 45_000.0, account="ACC1"), store)
    eng.process(payment("p2", 45_000.0, account="ACC2"), store)
    eng.advance(T0 + 30 * DAY, store, keys=["structuring|ACC1", "gone_detector|X"])
    assert list(store.data) == ["structuring|ACC2"]


def test_keyspace_of_a_state_key():
    eng = engine()
    assert eng.keyspace_of("structuring|ACC|with|bars") == ("account", "ACC|with|bars")
    assert eng.keyspace_of("complaint_spike|A1") == ("agent", "A1")
    assert eng.keyspace_of("banned_phrases|P1") is None  # stateless
    assert eng.keyspace_of("retired_detector|X") is None
