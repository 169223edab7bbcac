"""The synthetic generator: deterministic, valid on the wire, and truthful.

The last tests run generated events through the real engine with the default
detector configuration: every injected scenario raises exactly one alert on
its entity inside its window, and nothing else does (no look-alike, nothing
in the background, nothing in a clean baseline).
"""
from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import sys
from collections import Counter
from functools import lru_cache
from pathlib import Path

import orjson
import pytest

from detectors.config import DetectorConfig
from detectors.events import Event
from detectors.text import fold
from streams.codec import decode_event
from streams.engine import DictStateStore, RiskEngine, run_events
from streams.partner_codec import partner_record_from_object
from streams.generator import (
    DEFAULT_SCENARIO_MIX,
    DEFAULT_START,
    SCENARIO_TYPOLOGIES,
    GeneratedEvent,
    GeneratorConfig,
    TruthRecord,
    duration_days,
    generate,
    generate_with_registry,
    scale_scenarios,
)
from streams.generator.background import Background
from streams.generator.labels import label_facts
from streams.generator.partner_registry import registry_records
from streams.generator.personal import GIVEN_NAME_CHARACTERS, id_check_digit
from streams.generator.population import build_population
from streams.generator.scenarios import ScenarioBuilder
from streams.generator.service import LEAD_IN_MAX_DAYS
from streams.generator.timeline import Timeline, local_hour
from streams.generator.transcripts import (
    PHRASE_VARIANTS,
    RETURNS_TALK_EN,
    RETURNS_TALK_ZH,
    PhraseGuard,
    fullwidth,
    with_separators,
)
from streams.schemas import PERSONAL_FIELDS

FAR_FUTURE = 4_102_444_800.0  # 2100-01-01: no generated event is "from the future"
#: Alerts fire on the evidence events themselves; a little slack for safety.
SLACK_S = 1.0
#: A small company that still holds the default scenario mix: registry and scorecard scenarios take
#: a partner each (18), a scorecard's partner with up to eight agents.
SMALL = {"customers": 6_000, "agents": 900, "branches": 20, "partners": 30}
#: What ordinary business holds and ``streams.generator.labels`` labels wherever it occurs.
FACT_TYPOLOGIES = {"callback_failed", "mis_selling_complaint", "callback_missing", "complaint_overdue",
                   "claim_settlement_late", "claim_contact_late"}


@lru_cache(maxsize=None)
def _generated_with_registry(seed: int, events: int, mix: tuple[tuple[str, int], ...] | None, benign: bool,
                             ) -> tuple[list[GeneratedEvent], list[TruthRecord], list[dict]]:
    mix_dict = dict(DEFAULT_SCENARIO_MIX) if mix is None else dict(mix)
    return generate_with_registry(GeneratorConfig(seed=seed, events=events, scenario_mix=mix_dict, benign=benign,
                                                  **SMALL))


def _generated(seed: int, events: int, mix: tuple[tuple[str, int], ...] | None, benign: bool,
               ) -> tuple[list[GeneratedEvent], list[TruthRecord]]:
    return _generated_with_registry(seed, events, mix, benign)[:2]


def _decoded(events: list[GeneratedEvent]) -> list[Event]:
    return [decode_event(orjson.dumps(e.event), None, now=FAR_FUTURE) for e in events]


def _alerts(events: list[GeneratedEvent], registry: list[dict]) -> list:
    """Alerts of ``events`` through the engine, the partner ``registry`` applied first (as the
    generator publishes it: status changes take effect by their effective times)."""
    engine = RiskEngine(DetectorConfig(), clock=lambda: 0.0)
    records = [partner_record_from_object(r) for r in registry]
    return list(run_events(engine, [*records, *_decoded(events)], DictStateStore()))


def _wire(events: list[GeneratedEvent], truth: list[TruthRecord]) -> bytes:
    return orjson.dumps([[e.key, e.event] for e in events]) + orjson.dumps([t.to_dict() for t in truth])


def test_same_seed_gives_identical_bytes() -> None:
    config = GeneratorConfig(seed=7, events=4_000, **SMALL)
    assert _wire(*generate(config)) == _wire(*generate(config))


def test_output_does_not_depend_on_the_hash_seed() -> None:
    # Sets and dicts must never decide an order: another process, another hash seed, same bytes.
    # (1,000 events: the look-alikes of every typology take some 700.)
    code = ("import hashlib, sys; sys.path.insert(0, 'tests/streams'); import test_generator as t; "
            "print(hashlib.sha256(t._wire(*t._generated(3, 1_000, (), True))).hexdigest())")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                         cwd=Path(__file__).resolve().parents[2], timeout=120).stdout.strip()
    assert out == hashlib.sha256(_wire(*_generated(3, 1_000, (), True))).hexdigest()


def test_truth_record_to_dict() -> None:
    record = TruthRecord("structuring-001-single_policy", "structuring", "account", "AC1", DEFAULT_START + 0.123,
                         DEFAULT_START + 3600, False)
    assert record.to_dict() == {
        "scenario_id": "structuring-001-single_policy", "typology": "structuring", "entity_type": "account",
        "entity_id": "AC1", "start": "2026-01-05T00:00:00.123Z", "end": "2026-01-05T01:00:00.000Z",
        "benign": False,
    }


def test_different_seeds_differ() -> None:
    a = generate(GeneratorConfig(seed=1, events=3_000, **SMALL))
    b = generate(GeneratorConfig(seed=2, events=3_000, **SMALL))
    assert _wire(*a) != _wire(*b)


@pytest.mark.parametrize("events", [0, 1, 600, 5_000])
def test_exact_count_sorted_and_decodable(events: int) -> None:
    generated, _ = _generated(3, events, (), False)
    assert len(generated) == events
    times = [e.time for e in generated]
    assert times == sorted(times)
    decoded = _decoded(generated)
    assert len({e.event_id for e in decoded}) == events
    for raw, event in zip(generated, decoded):
        assert raw.stream == event.stream
        assert raw.key == (event.complaint_id if event.stream == "complaint" else event.policy_id)
        assert event.time == raw.time


def test_default_timeline_is_one_business_day() -> None:
    generated, truth = _generated(0, 10_000, None, True)
    # Absences whose deadline is longer than the day (a callback due 72 h after issue, a
    # complaint's 15 days) begin in the days before it: those events lead in, and so does the
    # business that partner scorecards are judged on (some 700 events).
    lead_in = DEFAULT_START - LEAD_IN_MAX_DAYS * 86_400
    day = [e for e in generated if e.time >= DEFAULT_START]
    assert day[0].event["event_time"].startswith("2026-01-05T")
    assert generated[0].time >= lead_in and generated[-1].time < DEFAULT_START + 86_400
    assert len(day) > 0.9 * len(generated)
    assert duration_days(10_000) == 1.0 and duration_days(1_000_000) == 10.0
    sales = [e for e in generated if e.event["event_type"] == "sale_recorded"]
    # Sales happen in the local (UTC+8) working day and evening, not at 3 a.m.
    assert all(7 <= local_hour(round(e.time * 1000)) <= 22 for e in sales)
    assert {t.typology for t in truth} == set(SCENARIO_TYPOLOGIES)
    assert all(lead_in <= t.start <= t.end < DEFAULT_START + 86_400 for t in truth)


def test_background_proportions_are_plausible() -> None:
    generated, _ = _generated(0, 10_000, None, True)
    # The day's business (scenarios' business of the days before it leads in).
    kinds = Counter(e.event["event_type"] for e in generated if e.time >= DEFAULT_START)
    assert 700 < kinds["sale_recorded"] < 1_300
    assert 0 < kinds["cooling_off_cancelled"] < kinds["surrendered"] < kinds["sale_recorded"] / 5
    # The background alone: 4% of callbacks fail; about 0.01 complaints per agent a day.
    background = Counter(e.event["event_type"] for e in _generated(0, 10_000, (), False)[0])
    assert background["callback_completed"] > 10 * background["callback_failed"] > 0
    assert background["complaint_filed"] < 0.02 * SMALL["agents"]
    # Claims: reported, a customer contacted, settled; a few reported in the days before settle today.
    assert 0 < background["claim_contacted"] < background["claim_reported"] and background["claim_settled"] > 0
    channels = Counter(e.event["channel"] for e in generated if e.event["event_type"] == "premium_paid")
    assert channels["bank_transfer"] > channels["mobile"] > channels["card"] > channels["cash"] > 0
    amounts = sorted(e.event["premium"] for e in generated if e.event["event_type"] == "sale_recorded")
    assert amounts[len(amounts) // 2] * 3 < amounts[-len(amounts) // 20]  # a long right tail


def test_personal_data_stays_in_personal_fields() -> None:
    generated, _ = _generated(0, 10_000, None, True)
    sale = next(e.event for e in generated if e.event["event_type"] == "sale_recorded")
    assert set(PERSONAL_FIELDS) <= set(sale)
    assert len(sale["customer_phone"]) == 11 and sale["customer_phone"].startswith("1")
    number = sale["customer_id_number"]
    assert len(number) == 18 and id_check_digit(number[:17]) == number[17]
    decoded = _decoded(generated)
    named_in_transcript = 0
    for raw, event in zip(generated, decoded):
        personal = [raw.event[f] for f in PERSONAL_FIELDS if f in raw.event]
        # Outside the personal fields and the transcript, nothing carries personal data...
        for name, value in raw.event.items():
            if name not in PERSONAL_FIELDS and name != "transcript" and isinstance(value, str):
                assert not any(p in value for p in personal), (name, value)
        # ...and after decoding, nothing at all: the codec masks the name in the transcript.
        assert not set(PERSONAL_FIELDS) & set(event.to_dict())
        if event.transcript:
            named_in_transcript += raw.event["customer_name"] in raw.event["transcript"]
            assert not any(p in event.transcript for p in personal), event.transcript
    assert named_in_transcript > 100  # sellers do address customers by name


def test_phrase_variants_fold_to_the_listed_phrase() -> None:
    guard = PhraseGuard()
    rng = random.Random(5)
    for phrase in guard.phrases:
        assert fold(with_separators(rng, phrase)) == fold(phrase)
        assert fold(fullwidth(phrase)) == fold(phrase)
    for talk in RETURNS_TALK_ZH + RETURNS_TALK_EN:
        assert not guard.hits(talk), talk
    # Names are masked in transcripts: no given-name character may be part of a phrase.
    assert not set(GIVEN_NAME_CHARACTERS) & set("".join(guard.phrases))


def test_validates_config() -> None:
    with pytest.raises(ValueError, match="unknown typology"):
        GeneratorConfig(scenario_mix={"fortune_telling": 1})
    with pytest.raises(ValueError, match="cannot hold"):
        generate(GeneratorConfig(events=5, **SMALL))
    assert scale_scenarios(1_000_000)["structuring"] == 300
    # Partners do not grow with the events: scenarios that take one each stay at the default mix.
    assert scale_scenarios(1_000_000)["partner_outlier_complaints"] == DEFAULT_SCENARIO_MIX["partner_outlier_complaints"]
    assert scale_scenarios(100) == {t: 1 for t in SCENARIO_TYPOLOGIES}


def _matches(alert, record: TruthRecord) -> bool:
    return (alert.typology, alert.entity_type, alert.entity_id) == (
        record.typology, record.entity_type, record.entity_id
    ) and record.start <= alert.event_time <= record.end + SLACK_S


def _check_truth(alerts: list, truth: list[TruthRecord]) -> None:
    """One alert per scenario, none for look-alikes, none elsewhere.

    "One alert" is one alert id: a detector may raise the same alert again at
    a higher tier (a spike reaching six complaints, structuring reaching five
    payments), which downstream is the same alert, not a second one.
    """
    scenarios = [t for t in truth if not t.benign]
    for record in truth:
        ids = {a.alert_id for a in alerts if _matches(a, record)}
        assert len(ids) == (0 if record.benign else 1), (record, ids)
    # An alert raised again (same id) after its scenario, at a higher tier, is still that alert.
    matched = {a.alert_id for a in alerts if any(_matches(a, r) for r in scenarios)}
    stray = [a for a in alerts if a.alert_id not in matched]
    assert stray == [], [a.summary for a in stray]
    assert len({a.alert_id for a in alerts}) == len(scenarios)


@pytest.mark.parametrize("seed", range(3))
def test_every_scenario_raises_one_alert_and_nothing_else_does(seed: int) -> None:
    mix = tuple((t, len(PHRASE_VARIANTS) if t == "misleading_sales_phrase" else 3) for t in SCENARIO_TYPOLOGIES)
    # Three of every typology in a day need a company of the default size: spikes of complaints
    # per branch, partner and product each take a dozen agents and must not add up elsewhere; and
    # twice its partners: registry and scorecard scenarios take a partner each (36 of them).
    generated, truth, registry = generate_with_registry(
        GeneratorConfig(seed=seed, events=8_000, scenario_mix=dict(mix), benign=True, partners=60))
    # The scenarios injected as asked; side truths label what they raise beyond their own typology.
    injected = [t for t in truth if re.match(rf"{t.typology}-(benign-)?\d{{3}}-", t.scenario_id)]
    others = 3 * (len(SCENARIO_TYPOLOGIES) - 1)
    assert sum(not t.benign for t in injected) == len(PHRASE_VARIANTS) + others
    assert sum(t.benign for t in injected) == len(PHRASE_VARIANTS) + others
    # Every variant of the phrase scenario is exercised.
    assert {t.scenario_id.split("-")[-1] for t in injected if t.typology == "misleading_sales_phrase"
            and not t.benign} == set(PHRASE_VARIANTS)
    _check_truth(_alerts(generated, registry), truth)


@pytest.mark.parametrize("seed", range(3))
def test_clean_baseline_raises_no_alert(seed: int) -> None:
    # Nothing injected: the only alerts are on what ordinary business holds (failed callbacks,
    # mis-selling complaints, the odd claim missing its target), each labelled as a fact.
    generated, truth, registry = _generated_with_registry(seed, 10_000, (), False)
    assert {t.typology for t in truth} <= FACT_TYPOLOGIES
    assert all("-fact-" in t.scenario_id for t in truth)
    _check_truth(_alerts(generated, registry), truth)


def test_week_long_timeline_scenarios_and_background() -> None:
    # A week-long timeline (what ~700k events get) built directly, so that the
    # look-alikes needing more than a day or more than 72 h come into play
    # without pushing 700k events through the engine.
    # Six scenarios of each typology need a company of some size: complaint spikes per branch,
    # partner and product take a dozen dedicated agents each; registry, scorecard and spike scenarios
    # a partner each (84, and compliance and contract ones want theirs), a scorecard's partner
    # with up to eight agents.
    pop = build_population(21, agents=4_000, branches=20, partners=130, customers=20_000, products=30,
                           start=DEFAULT_START)
    timeline = Timeline.for_events(DEFAULT_START, 700_000)
    guard = PhraseGuard()
    builder = ScenarioBuilder(pop, timeline, random.Random(21), guard)
    for typology in SCENARIO_TYPOLOGIES:
        builder.build(typology, 6, benign=False)
        builder.build(typology, 6, benign=True)
    variants = {t.scenario_id.split("-")[-1] for t in builder.truths}
    assert {"spread_cash_in_band", "two_pairs_apart"} <= variants
    scenario_events = builder.log.finish("ids")
    lead_in = DEFAULT_START - LEAD_IN_MAX_DAYS * 86_400
    assert all(lead_in <= e.time < DEFAULT_START + 7 * 86_400 for e in scenario_events)
    registry = registry_records(pop, timeline.start_ms, builder.partner_registry)
    _check_truth(_alerts(scenario_events, registry), builder.truths + label_facts(scenario_events, builder.truths))
    background = Background(pop, timeline, random.Random(22), guard, builder.reserved).fill(20_000).finish("ids")
    facts = label_facts(background, [])
    assert {t.typology for t in facts} <= FACT_TYPOLOGIES
    _check_truth(_alerts(background, registry_records(pop, timeline.start_ms, {})), facts)


def test_days_spreads_the_events_over_that_many_simulated_days():
    config = GeneratorConfig(seed=2, events=4_000, days=30.0)
    events, _ = generate(config)
    times = [e.time for e in events]
    assert len(events) == 4_000
    assert max(times) < config.start + 30 * 86_400  # (a few scenarios start days before the start)
    assert max(times) - min(times) > 25 * 86_400  # spread over the month, not one day
    with pytest.raises(ValueError, match="days"):
        GeneratorConfig(days=0)
