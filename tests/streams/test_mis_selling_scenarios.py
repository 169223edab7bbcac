"""The mis-selling scenarios (``streams/generator/mis_selling.py``) against the
real engine with default thresholds: every variant of each typology raises
exactly one alert of its typology on its entity inside its window, every
look-alike none, and what the scenarios raise beyond their own typology
(banned phrases of an integrity scenario, complaint spikes...) is labelled by
a side truth. Typologies of other scenario modules are left to their tests.
"""
from __future__ import annotations

import random
from functools import lru_cache

import orjson
import pytest

from detectors.agent_peers import AgentPeerConfig
from detectors.config import DetectorConfig
from detectors.stats import beta_binomial_sf
from streams.codec import decode_event
from streams.engine import DictStateStore, RiskEngine, run_events
from streams.generator.mis_selling import PEER_RATE_MARGIN, P_VALUE_MARGIN, TYPOLOGIES, events_needed
from streams.generator.model import DEFAULT_START, TruthRecord
from streams.generator.population import build_population
from streams.generator.scenarios import SCENARIO_FAMILIES, ScenarioBuilder
from streams.generator.timeline import Timeline
from streams.generator.transcripts import PhraseGuard

#: Typologies whose alerts these scenarios raise and label: their own and the side truths'.
CHECKED = set(TYPOLOGIES) | {"misleading_sales_phrase", "complaint_spike"}


@lru_cache(maxsize=None)
def built(seed: int, days: int) -> tuple[list, list[TruthRecord]]:
    pop = build_population(seed, agents=600, branches=20, partners=12, customers=6_000, products=30,
                           start=DEFAULT_START)
    timeline = Timeline.for_events(DEFAULT_START, days * 100_000)
    builder = ScenarioBuilder(pop, timeline, random.Random(seed), PhraseGuard())
    for typology in TYPOLOGIES:
        builder.build(typology, 4, benign=False)
        builder.build(typology, 3, benign=True)
    events = [decode_event(orjson.dumps(e.event), None, now=4_102_444_800.0) for e in builder.log.finish("ids")]
    alerts = list(run_events(RiskEngine(DetectorConfig(), clock=lambda: 0.0), events, DictStateStore()))
    return [a for a in alerts if a.typology in CHECKED], [t for t in builder.truths if t.typology in CHECKED]


def matches(alert, record: TruthRecord) -> bool:
    return ((alert.typology, alert.entity_type, alert.entity_id) == (record.typology, record.entity_type,
                                                                     record.entity_id)
            and record.start <= alert.event_time <= record.end + 1.0)


@pytest.mark.parametrize("seed, days", [(0, 1), (1, 1), (2, 1), (3, 6)])
def test_each_scenario_raises_one_alert_and_nothing_else(seed, days):
    alerts, truth = built(seed, days)
    for record in truth:
        ids = {a.alert_id for a in alerts if matches(a, record)}
        assert len(ids) == (0 if record.benign else 1), (record, [a.summary for a in alerts if matches(a, record)])
    real = [t for t in truth if not t.benign]
    stray = [a.summary for a in alerts if not any(matches(a, r) for r in real)]
    assert stray == []


def test_every_variant_is_built():
    _, truth = built(0, 1)
    builder = ScenarioBuilder(build_population(0, agents=50, branches=5, partners=2, customers=200, products=10,
                                               start=DEFAULT_START), Timeline.for_events(DEFAULT_START, 1),
                              random.Random(0), PhraseGuard())
    for typology in TYPOLOGIES:
        for benign in (False, True):
            _, variants = SCENARIO_FAMILIES[(typology, benign)](builder)
            prefix = f"{typology}-{'benign-' if benign else ''}"
            made = {t.scenario_id[len(prefix) + 4:] for t in truth if t.scenario_id.startswith(prefix)
                    and t.scenario_id[len(prefix):len(prefix) + 3].isdigit()}
            assert made == set(variants), (typology, benign)


def test_side_truths_label_what_else_the_scenarios_raise():
    _, truth = built(0, 1)
    side = {t.typology for t in truth if "-side-" in t.scenario_id}
    # Banned phrases and unsuitable sales of integrity scenarios, complaint spikes of
    # complaint-rate outliers, integrity scores sunk by cooling-off outliers.
    assert {"misleading_sales_phrase", "complaint_spike", "integrity_below_threshold"} <= side


@pytest.mark.parametrize("exposure, prior", [(15, 0.03), (22, 0.03), (15, 0.02), (20, 0.05)])
def test_events_needed_is_the_fewest_with_room_to_spare(exposure, prior):
    config = AgentPeerConfig()
    rate = prior * PEER_RATE_MARGIN
    a, b = rate * config.concentration, (1 - rate) * config.concentration
    k = events_needed(exposure, prior)
    assert beta_binomial_sf(k, exposure, a, b) < config.p_value / P_VALUE_MARGIN
    assert beta_binomial_sf(k - 1, exposure, a, b) >= config.p_value / P_VALUE_MARGIN
