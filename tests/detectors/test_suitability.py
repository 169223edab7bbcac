"""Suitability rules on sales, with the shipped rule file.

Defaults: risk level above tolerance (high); 65 or over sold investment-linked,
long-term savings or annuity (high); annual premium above 30% of declared
income (medium, high above 60%). The test sale (``builders.sale``) is suitable:
risk 3 for tolerance 3, aged 40, 12,000 CNY a year on 200,000 CNY.
"""
from __future__ import annotations

import orjson
import pytest

from builders import T0, sale
from detectors.base import Tier
from detectors.suitability import (
    AffordabilitySuitability,
    ElderlySuitability,
    RiskLevelSuitability,
    SuitabilityConfig,
    SuitabilityRules,
    load_rules,
)

DETECTORS = (RiskLevelSuitability, ElderlySuitability, AffordabilitySuitability)


@pytest.fixture(scope="module")
def rules() -> SuitabilityRules:
    return SuitabilityRules()


def broken(rules: SuitabilityRules, **fields) -> list[tuple[str, str]]:
    return [(v.typology, v.tier.value) for v in rules.check(sale("s1", None, **fields))]


def test_a_suitable_sale_breaks_nothing(rules):
    assert broken(rules) == []
    for cls in DETECTORS:
        assert cls(SuitabilityConfig()).observe(sale("s1", None), None) == (None, [])


@pytest.mark.parametrize(
    "risk, tolerance, expected",
    [
        (3, 3, []),  # equal is suitable
        (2, 3, []),
        (4, 3, [("unsuitable_risk_level", "high")]),
        (5, 1, [("unsuitable_risk_level", "high")]),
    ],
)
def test_risk_level_above_tolerance(rules, risk, tolerance, expected):
    assert broken(rules, product_risk_level=risk, customer_risk_tolerance=tolerance) == expected


@pytest.mark.parametrize(
    "age, category, expected",
    [
        (64, "investment_linked", []),  # not yet elderly
        (65, "investment_linked", [("elderly_unsuitable_product", "high")]),
        (65, "long_term_savings", [("elderly_unsuitable_product", "high")]),
        (80, "annuity", [("elderly_unsuitable_product", "high")]),
        (70, "health", []),
        (70, "protection", []),
    ],
)
def test_elderly_customer(rules, age, category, expected):
    assert broken(rules, customer_age=age, product_category=category) == expected


@pytest.mark.parametrize(
    "premium, expected",
    [
        (60_000.0, []),  # 60,000 / 200,000 = 30% exactly: affordable
        (60_001.0, [("premium_unaffordable", "medium")]),  # 30.0005%
        (120_000.0, [("premium_unaffordable", "medium")]),  # 60% exactly: not yet high
        (120_001.0, [("premium_unaffordable", "high")]),
        (300_000.0, [("premium_unaffordable", "high")]),  # more than the income
    ],
)
def test_premium_against_declared_income(rules, premium, expected):
    assert broken(rules, premium=premium) == expected


def test_a_rule_whose_inputs_are_missing_is_not_applied(rules):
    assert broken(rules, premium=None, customer_age=None, product_risk_level=None, product_category=None) == []


def test_each_rule_is_its_own_detector_and_alert():
    # One sale breaking all three rules: three findings, from three detectors,
    # so three alert ids (detector, entity and window make the id).
    event = sale("s1", None, t=T0 + 5.0, policy_id="P9", product_risk_level=5, customer_risk_tolerance=2,
                 customer_age=70, product_category="investment_linked", premium=90_000.0)
    found = [f for cls in DETECTORS for f in cls(SuitabilityConfig()).observe(event, None)[1]]
    assert [(f.detector, f.typology, f.tier) for f in found] == [
        ("suitability_risk_level", "unsuitable_risk_level", Tier.HIGH),
        ("suitability_elderly", "elderly_unsuitable_product", Tier.HIGH),
        ("suitability_affordability", "premium_unaffordable", Tier.MEDIUM),
    ]
    for f in found:
        assert (f.entity_type, f.entity_id, f.window_start, f.event_time) == ("policy", "P9", T0 + 5.0, T0 + 5.0)
        assert f.evidence["event_ids"] == ["s1"]
        assert (f.evidence["agent_id"], f.evidence["customer_id"], f.branch_id) == ("A1", "C1", "B1")
    assert found[0].evidence["product_risk_level"] == 5 and found[0].evidence["customer_risk_tolerance"] == 2
    assert found[1].tier_reason == "investment_linked sold to a customer of 65 or over"
    assert found[2].evidence["income_share"] == 0.45 and found[2].score == 0.45
    assert found[2].tier_reason == "annual premium 45% of declared income (over 30%)"


def test_a_sale_without_a_policy_is_skipped():
    event = sale("s1", None, policy_id=None, product_risk_level=5)
    assert RiskLevelSuitability(SuitabilityConfig()).observe(event, None) == (None, [])


def test_rules_from_another_file(tmp_path):
    rules = load_rules()
    rules["affordability"]["max_income_share"] = 0.2
    rules["elderly"]["min_age"] = 60
    path = tmp_path / "rules.json"
    path.write_bytes(orjson.dumps(rules))
    custom = SuitabilityRules(str(path))
    assert [v.typology for v in custom.check(sale("s1", None, premium=40_001.0, customer_age=60,
                                                  product_category="annuity"))] == [
        "elderly_unsuitable_product", "premium_unaffordable"]
    assert AffordabilitySuitability(SuitabilityConfig(rules_file=str(path))).rules.rules["affordability"][
        "max_income_share"] == 0.2


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: r.pop("elderly"), "'elderly' needs an object"),
        (lambda r: r["risk_level"].update(tier="purple"), "purple"),
        (lambda r: r["affordability"].update(max_income_share=0.7), "max_income_share <= high_income_share"),
        (lambda r: r["elderly"].update(categories="annuity"), "categories"),
    ],
)
def test_a_broken_rule_file_is_refused(tmp_path, change, message):
    rules = load_rules()
    change(rules)
    path = tmp_path / "rules.json"
    path.write_bytes(orjson.dumps(rules))
    with pytest.raises(ValueError, match=message):
        SuitabilityRules(str(path))
