"""The fund-flow scenarios of the generator: every variant raises exactly the
alerts its truth records name, every look-alike none, and the combined case
(structuring from third-party accounts, then a surrender to a new account)
raises one alert per typology, linked by customer, policy and account ids."""
from __future__ import annotations

import random
from functools import lru_cache

import orjson
import pytest

from detectors.base import Tier
from detectors.config import DetectorConfig
from streams.codec import decode_event
from streams.engine import DictStateStore, RiskEngine, run_events
from streams.generator.background import Background
from streams.generator.fund_flows import FAMILIES
from streams.generator.model import DEFAULT_START, EventLog
from streams.generator.population import build_population
from streams.generator.scenarios import SCENARIO_FAMILIES, ScenarioBuilder
from streams.generator.timeline import Timeline
from streams.generator.transcripts import PhraseGuard

FAR_FUTURE = 4_102_444_800.0
EVENTS = 8_000


def _builder(seed: int) -> ScenarioBuilder:
    pop = build_population(seed, agents=600, branches=20, partners=12, customers=6_000, products=30,
                           start=DEFAULT_START)
    return ScenarioBuilder(pop, Timeline.for_events(DEFAULT_START, EVENTS), random.Random(seed), PhraseGuard())


def _alerts(builder: ScenarioBuilder, background: int) -> list:
    log = EventLog()
    if background:
        log.extend(Background(builder.pop, builder.timeline, random.Random(7), builder.guard,
                              builder.reserved).fill(background))
    log.extend(builder.log)
    events = [decode_event(orjson.dumps(e.event), None, FAR_FUTURE) for e in log.finish("ids")]
    return list(run_events(RiskEngine(DetectorConfig(), clock=lambda: 0.0), events, DictStateStore()))


@lru_cache(maxsize=None)
def _every_variant(seed: int) -> tuple[list, list]:
    builder = _builder(seed)
    for typology, (variants, benign) in FAMILIES.items():
        builder.build(typology, len(variants), benign=False)
        builder.build(typology, len(benign), benign=True)
    # The product outlier needs the product's own history: ordinary business around it.
    return _alerts(builder, EVENTS - len(builder.log)), builder.truths


def _matches(alert, record) -> bool:
    return ((alert.typology, alert.entity_type, alert.entity_id) == (record.typology, record.entity_type,
                                                                      record.entity_id)
            and record.start <= alert.event_time <= record.end + 1.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_every_variant_raises_its_alerts_and_nothing_else(seed):
    alerts, truth = _every_variant(seed)
    variants = {t.scenario_id.split("-")[-1] for t in truth}
    assert {v for vs, bs in FAMILIES.values() for v in vs + bs} <= variants
    real = [t for t in truth if not t.benign]
    for record in truth:
        ids = {a.alert_id for a in alerts if _matches(a, record)}
        assert len(ids) == (0 if record.benign else 1), record
    # Nothing else of these typologies (the background has alerts of its own, e.g. failed callbacks).
    ours = set(FAMILIES) | {"structuring"}
    stray = [a.summary for a in alerts if a.typology in ours and not any(_matches(a, r) for r in real)]
    assert stray == []


def test_variants_reach_their_tiers():
    alerts, truth = _every_variant(0)
    tier_of = {}
    for record in truth:
        for alert in alerts:
            if _matches(alert, record):
                tier_of[record.scenario_id] = max(tier_of.get(record.scenario_id, alert.tier), alert.tier,
                                                  key=lambda t: t.rank)

    def tiers(typology, variant):
        return {tier for sid, tier in tier_of.items() if sid.startswith(f"{typology}-") and sid.endswith(variant)}

    assert tiers("rapid_in_out", "cooling_off_same_account") == {Tier.MEDIUM}
    assert tiers("rapid_in_out", "early_surrender_new_account") == {Tier.CRITICAL}
    assert tiers("amount_anomaly", "step_up") == {Tier.MEDIUM}
    assert tiers("amount_anomaly", "round_in_a_burst") == {Tier.CRITICAL}
    assert tiers("third_party_payer", "cash_from_stranger") == {Tier.MEDIUM}
    assert tiers("fan_out", "many_policyholders") == {Tier.HIGH}


def test_the_combined_case_is_linked_by_its_ids():
    builder = _builder(3)
    scenario, _ = SCENARIO_FAMILIES[("rapid_in_out", False)](builder)
    _, policy_id, _ = scenario("structured_third_party")
    alerts = {a.typology: a for a in _alerts(builder, 0)}
    assert set(alerts) == {"rapid_in_out", "structuring", "third_party_payer", "multiple_payers"}
    rapid, structuring = alerts["rapid_in_out"], alerts["structuring"]
    customer_id = rapid.evidence["customer_id"]
    assert rapid.tier is Tier.CRITICAL and rapid.entity_id == policy_id
    assert (structuring.entity_type, structuring.entity_id) == ("customer", customer_id)
    for alert in alerts.values():
        assert alert.evidence["customer_id"] == customer_id
        assert alert.evidence.get("policy_id", policy_id) == policy_id
    payers = rapid.evidence["payer_account_ids"]
    assert len(payers) >= 3 and rapid.evidence["payee_account_id"] not in payers
    assert structuring.evidence["account_ids"] == payers
    assert set(alerts["third_party_payer"].evidence["payer_account_ids"]) <= set(payers)  # at the first one
    assert set(alerts["multiple_payers"].evidence["payer_accounts"]) <= set(payers)
    assert set(structuring.evidence["event_ids"]) <= set(rapid.evidence["event_ids"])
    # One truth record per typology it triggers: its own (written by ScenarioBuilder.build), and side truths.
    assert sorted(t.typology for t in builder.truths) == ["multiple_payers", "structuring", "third_party_payer"]
