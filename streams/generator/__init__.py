"""Synthetic event generator: a realistic background of insurance business with
injected risk scenarios and benign look-alikes, and the truth about each.

>>> from streams.generator import GeneratorConfig, generate
>>> events, truth = generate(GeneratorConfig(seed=1, events=3_000, customers=3_000, agents=300))
>>> len(events), sorted({t.typology for t in truth})
(3000, ['complaint_spike', 'misleading_sales_phrase', 'structuring'])

Deterministic: the same configuration gives byte-identical events and truth;
no clock is read (the start time is part of the configuration). The pieces:
``population`` (who), ``timeline`` (when), ``background`` (ordinary business),
``scenarios`` (what the detectors must find, and must not), ``transcripts``
and ``feed`` (how sales sound and events look).
"""
from __future__ import annotations

from collections.abc import Mapping
from random import Random

from streams.generator.background import Background
from streams.generator.model import (
    DEFAULT_SCENARIO_MIX,
    DEFAULT_START,
    PARTNER_TYPOLOGIES,
    SCENARIO_TYPOLOGIES,
    EventLog,
    GeneratedEvent,
    GeneratorConfig,
    TruthRecord,
)
from streams.generator.population import build_population
from streams.generator.scenarios import ScenarioBuilder
import streams.generator.mis_selling  # noqa: F401  (registers its scenario families)
import streams.generator.service  # noqa: F401  (registers its scenario families, as do the next three)
import streams.generator.complaint_spikes  # noqa: F401
import streams.generator.partners  # noqa: F401
import streams.generator.partner_scorecards  # noqa: F401
import streams.generator.claims_service  # noqa: F401
from streams.generator.labels import label_facts
import streams.generator.fund_flows  # noqa: F401  (registers its scenario families)
from streams.generator.partner_registry import registry_records
from streams.generator.timeline import DAILY_EVENT_CAP, Timeline, duration_days
from streams.generator.transcripts import PhraseGuard

__all__ = [
    "DAILY_EVENT_CAP",
    "DEFAULT_SCENARIO_MIX",
    "DEFAULT_START",
    "SCENARIO_TYPOLOGIES",
    "GeneratedEvent",
    "GeneratorConfig",
    "TruthRecord",
    "duration_days",
    "generate",
    "generate_with_registry",
    "scale_scenarios",
]


def generate(config: GeneratorConfig) -> tuple[list[GeneratedEvent], list[TruthRecord]]:
    """:func:`generate_with_registry` without the registry."""
    events, truth, _ = generate_with_registry(config)
    return events, truth


def generate_with_registry(config: GeneratorConfig) -> tuple[list[GeneratedEvent], list[TruthRecord], list[dict]]:
    """The partner registry records of the population (``partner.registry``, one per
    partner, see :mod:`streams.generator.partner_registry`) besides the events and truth:

    Exactly ``config.events`` events sorted by event time, and the truth records
    (sorted by start) of the injected scenarios and look-alikes.

    With ``config.benign`` every typology gets look-alikes too: as many as its
    scenarios, and at least one. Raises ``ValueError`` when ``events`` is too
    small to hold the scenarios, or the population too small to dedicate
    entities to them.
    """
    timeline = Timeline.for_events(config.start, config.events, config.days)
    pop = build_population(config.seed, agents=config.agents, branches=config.branches, partners=config.partners,
                           customers=config.customers, products=config.products, start=config.start)
    guard = PhraseGuard()
    # Separate random streams, so that e.g. the scenario mix does not reshuffle the population.
    builder = ScenarioBuilder(pop, timeline, Random(f"riskwatch-scenarios:{config.seed}"), guard)
    for typology in SCENARIO_TYPOLOGIES:
        builder.build(typology, config.scenario_mix.get(typology, 0), benign=False)
    if config.benign:
        for typology in SCENARIO_TYPOLOGIES:
            builder.build(typology, max(1, config.scenario_mix.get(typology, 0)), benign=True)
    budget = config.events - len(builder.log)
    if budget < 0:
        raise ValueError(f"{config.events} events cannot hold the {len(builder.log)} events of the scenarios; "
                         "raise events or lower the scenario mix")
    background = Background(pop, timeline, Random(f"riskwatch-background:{config.seed}"), guard, builder.reserved)
    log = EventLog()
    log.extend(background.fill(budget))
    log.extend(builder.log)
    events = log.finish(f"riskwatch-event-ids:{config.seed}")
    # Facts of the data that raise alerts wherever they occur (a failed callback...), labelled once.
    truths = builder.truths + label_facts(events, builder.truths)
    registry = registry_records(pop, timeline.start_ms, builder.partner_registry)
    return events, sorted(truths, key=lambda t: (t.start, t.scenario_id)), registry


def scale_scenarios(events: int, per_10k: Mapping[str, int] | None = None) -> dict[str, int]:
    """A scenario mix for ``events`` events: ``per_10k`` (default
    :data:`DEFAULT_SCENARIO_MIX`) scenarios per 10,000 events, at least one of
    each typology listed with a positive rate; no more than ``per_10k`` of the
    typologies that take a partner each (:data:`PARTNER_TYPOLOGIES`)."""
    base = DEFAULT_SCENARIO_MIX if per_10k is None else per_10k
    mix = {t: max(1, round(n * events / 10_000)) if n > 0 else 0 for t, n in base.items()}
    return {t: min(n, base[t]) if t in PARTNER_TYPOLOGIES else n for t, n in mix.items()}
