"""Unsuitable sales: the product does not fit the customer it was sold to.

Three rules, each in ``detectors/data/suitability_rules.json`` (the risk team
edits that file; ``SuitabilityConfig.rules_file`` points at another one), each
with its own typology and tier:

* ``unsuitable_risk_level`` (high): the product's risk level (1 to 5) is above
  the customer's assessed risk tolerance (1 to 5). Equal is suitable.
* ``elderly_unsuitable_product`` (high): a customer aged 65 or more is sold an
  investment-linked or long-term savings product (``investment_linked``,
  ``long_term_savings``, ``annuity``: terms of 10 years and more, with money
  locked in). A 64-year-old is not elderly by this rule.
* ``premium_unaffordable`` (medium; high above 60%): the annual premium is more
  than 30% of the customer's declared annual income. Exactly 30% is affordable.

Each sale (``sale_recorded``, which carries the customer's attributes as
assessed at the sale) is checked on its own: stateless, one finding per rule
broken, on the policy sold. The rules are one detector class each (sharing
:class:`SuitabilityRules`), because an alert's id is its detector, entity and
window: one sale breaking two rules raises two alerts. The agent integrity
score calls :meth:`SuitabilityRules.check` for its "unsuitable sale" deduction,
so both agree on what is unsuitable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from detectors.base import Detector, Finding, State, Tier, register
from detectors.datafiles import read_data_file
from detectors.events import Event

RULE_NAMES = ("risk_level", "elderly", "affordability")


@dataclass(frozen=True, slots=True)
class SuitabilityConfig:
    #: JSON rule file; empty means ``detectors/data/suitability_rules.json``.
    rules_file: str = ""


@dataclass(frozen=True, slots=True)
class Violation:
    """One suitability rule a sale breaks."""

    rule: str
    typology: str
    tier: Tier
    #: Why this tier, in one short phrase.
    reason: str
    #: The figures the rule compared (no personal data: ages and levels, no names).
    figures: dict[str, Any] = field(default_factory=dict)


def load_rules(rules_file: str = "") -> dict[str, dict[str, Any]]:
    """The rule file as a dict, checked: every rule present, tiers valid,
    thresholds in range. Raises ``ValueError`` naming the rule and field."""
    rules = orjson.loads(read_data_file("suitability_rules.json", rules_file))
    for name in RULE_NAMES:
        rule = rules.get(name)
        if not isinstance(rule, dict) or not isinstance(rule.get("typology"), str):
            raise ValueError(f"suitability rules: {name!r} needs an object with a typology")
        Tier(rule.get("tier"))
    elderly, afford = rules["elderly"], rules["affordability"]
    if not isinstance(elderly.get("min_age"), int) or not isinstance(elderly.get("categories"), list):
        raise ValueError("suitability rules: elderly needs min_age (years) and categories (a list)")
    low, high = afford.get("max_income_share"), afford.get("high_income_share")
    if not (isinstance(low, (int, float)) and isinstance(high, (int, float)) and 0 < low <= high):
        raise ValueError("suitability rules: affordability needs 0 < max_income_share <= high_income_share")
    Tier(afford.get("high_tier"))
    return rules


class SuitabilityRules:
    """The rule book: which rules a sale breaks.

    >>> from detectors.events import Event
    >>> sale = Event("e1", "sale_recorded", "policy", 0.0, product_risk_level=4, customer_risk_tolerance=2,
    ...              product_category="investment_linked", customer_age=70, premium=40_000.0,
    ...              customer_income=100_000.0)
    >>> [(v.typology, v.tier.value) for v in SuitabilityRules().check(sale)]
    [('unsuitable_risk_level', 'high'), ('elderly_unsuitable_product', 'high'), ('premium_unaffordable', 'medium')]
    """

    def __init__(self, rules_file: str = "") -> None:
        self.rules = load_rules(rules_file)
        self.typologies = {name: self.rules[name]["typology"] for name in RULE_NAMES}

    def check(self, event: Event, only: str | None = None) -> list[Violation]:
        """The rules ``event`` (a sale) breaks, in :data:`RULE_NAMES` order, or
        only rule ``only``. A rule whose inputs the sale lacks is not applied."""
        out = []
        for name in RULE_NAMES if only is None else (only,):
            found = getattr(self, f"_{name}")(event, self.rules[name])
            if found is not None:
                out.append(found)
        return out

    @staticmethod
    def _risk_level(event: Event, rule: dict) -> Violation | None:
        risk, tolerance = event.product_risk_level, event.customer_risk_tolerance
        if risk is None or tolerance is None or risk <= tolerance:
            return None
        return Violation("risk_level", rule["typology"], Tier(rule["tier"]),
                         f"product risk {risk} above the customer's tolerance {tolerance}",
                         {"product_risk_level": risk, "customer_risk_tolerance": tolerance})

    @staticmethod
    def _elderly(event: Event, rule: dict) -> Violation | None:
        age, category = event.customer_age, event.product_category
        if age is None or age < rule["min_age"] or category not in rule["categories"]:
            return None
        return Violation("elderly", rule["typology"], Tier(rule["tier"]),
                         f"{category} sold to a customer of {rule['min_age']} or over",
                         {"customer_age": age, "min_age": rule["min_age"], "product_category": category,
                          "term_years": event.term_years})

    @staticmethod
    def _affordability(event: Event, rule: dict) -> Violation | None:
        premium, income = event.premium, event.customer_income
        if premium is None or not income:
            return None
        share = premium / income
        if share <= rule["max_income_share"]:
            return None
        high = share > rule["high_income_share"]
        limit = rule["high_income_share"] if high else rule["max_income_share"]
        return Violation("affordability", rule["typology"], Tier(rule["high_tier"] if high else rule["tier"]),
                         f"annual premium {share:.0%} of declared income (over {limit:.0%})",
                         {"premium_cny": premium, "income_cny": income, "income_share": round(share, 4),
                          "max_income_share": rule["max_income_share"]})


class SuitabilityDetector(Detector):
    """One suitability rule on each ``sale_recorded`` (subclasses name the rule)."""

    version = "1"
    event_types = frozenset({"sale_recorded"})
    keyspace = None
    #: The key of the rule in the rule file (one of :data:`RULE_NAMES`).
    rule: ClassVar[str]

    def __init__(self, config: SuitabilityConfig) -> None:
        self.config = config
        self.rules = SuitabilityRules(config.rules_file)

    def key(self, event: Event) -> str | None:
        return event.policy_id

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        if event.policy_id is None:
            return None, []
        return None, [self._finding(event, v) for v in self.rules.check(event, only=self.rule)]

    def _finding(self, event: Event, violation: Violation) -> Finding:
        return Finding(
            detector=self.name,
            detector_version=self.version,
            typology=violation.typology,
            tier=violation.tier,
            tier_reason=violation.reason,
            entity_type="policy",
            entity_id=event.policy_id or "",
            window_start=event.time,
            event_time=event.time,
            score=1.0 if violation.rule != "affordability" else violation.figures["income_share"],
            summary=f"policy {event.policy_id} (product {event.product_id}, agent {event.agent_id}): "
                    f"{violation.reason}",
            evidence={
                "rule": violation.rule,
                **violation.figures,
                "customer_id": event.customer_id,
                "agent_id": event.agent_id,
                "product_id": event.product_id,
                "event_ids": [event.event_id],
            },
            branch_id=event.branch_id,
            partner_id=event.partner_id,
        )


@register("suitability")
class RiskLevelSuitability(SuitabilityDetector):
    """Product risk level above the customer's risk tolerance.

    >>> from detectors.events import Event
    >>> sale = Event("e1", "sale_recorded", "policy", 0.0, policy_id="P1", agent_id="A1",
    ...              product_risk_level=4, customer_risk_tolerance=3)
    >>> [f.tier_reason for f in RiskLevelSuitability(SuitabilityConfig()).observe(sale, None)[1]]
    ["product risk 4 above the customer's tolerance 3"]
    """

    name = "suitability_risk_level"
    typologies = ("unsuitable_risk_level",)  # as the shipped rules name it
    rule = "risk_level"


@register("suitability")
class ElderlySuitability(SuitabilityDetector):
    """Investment-linked or long-term savings product sold to a customer of 65 or over.

    >>> from detectors.events import Event
    >>> sale = Event("e1", "sale_recorded", "policy", 0.0, policy_id="P1", customer_age=65,
    ...              product_category="long_term_savings")
    >>> [f.typology for f in ElderlySuitability(SuitabilityConfig()).observe(sale, None)[1]]
    ['elderly_unsuitable_product']
    """

    name = "suitability_elderly"
    typologies = ("elderly_unsuitable_product",)  # as the shipped rules name it
    rule = "elderly"


@register("suitability")
class AffordabilitySuitability(SuitabilityDetector):
    """Annual premium above a share of the customer's declared income.

    >>> from detectors.events import Event
    >>> sale = Event("e1", "sale_recorded", "policy", 0.0, policy_id="P1", premium=30_500.0,
    ...              customer_income=100_000.0)
    >>> [(f.tier.value, f.evidence["income_share"]) for f in
    ...  AffordabilitySuitability(SuitabilityConfig()).observe(sale, None)[1]]
    [('medium', 0.305)]
    """

    name = "suitability_affordability"
    typologies = ("premium_unaffordable",)  # as the shipped rules name it
    rule = "affordability"
