"""Outsourcing partner KPIs: compliance rate and contract execution deviation (both high).

Both are rolling figures per partner (agency, bancassurance channel) over the
policies its agents sold in the last ``window_s`` (30 days), judged with an eye
on sample size. A breach is raised once, when the figure goes off target (its
window is the ``window_s`` bucket of that moment); the partner is re-armed when
the figure is back on target, so a later breach is a new alert.

``partner_compliance_rate``: the share of the partner's policies with no
mis-selling signal must be at least ``target_rate`` (98%). A policy has a
signal when its sale (``sale_recorded``) holds a banned phrase or breaks a
suitability rule (the very matcher and rule book of the ``banned_phrases`` and
``suitability`` detectors), or when a complaint in a mis-selling category names
it. A signal on a policy the detector has not seen sold within the window (an
old policy) does not count: the rate is that of the window's sales. The rate
is below target only when the evidence says so: at least ``min_signals``
flagged policies, and a binomial tail probability below ``p_value`` of seeing
so many at the target's 2% -- so 1 flagged policy of 3 is not an alert (p=0.06),
nor 2 of 10 (p=0.016), but 3 of 10 is (p=0.0009).

``partner_contract_deviation``: the commission a partner applies to a policy
(``commission_rate`` on ``policy_issued``) against the rate its contract sets
(``contract_commission_rate`` on the same event, from the policy system's
partner contract table; until the partner registry exists,
``contract_commission_rates`` in the configuration stands in where the event
carries none). Per policy the deviation is |applied - contracted| / contracted;
the partner's is the mean over its policies in the window, and it must be at
most ``max_deviation`` (2%). It is judged only over at least ``min_policies``
policies with at least ``min_off_contract`` of them off contract by more than
``max_deviation``, so two odd policies do not make a partner deviate.
"""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from detectors.banned_phrases import PhraseMatcher
from detectors.base import Detector, Finding, State, Tier, register
from detectors.events import Event
from detectors.stats import binomial_sf
from detectors.suitability import SuitabilityRules

DAY = 86_400.0
SIGNALS = ("banned_phrase", "unsuitable_sale", "mis_selling_complaint")


@dataclass(frozen=True, slots=True)
class PartnerComplianceConfig:
    #: Share of a partner's policies that must be free of mis-selling signals.
    target_rate: float = 0.98
    window_s: float = 30 * DAY
    p_value: float = 1e-3
    min_signals: int = 3
    #: Which signals count (of ``banned_phrase``, ``unsuitable_sale``, ``mis_selling_complaint``).
    signals: list[str] = field(default_factory=lambda: list(SIGNALS))
    complaint_categories: list[str] = field(default_factory=lambda: ["mis_selling"])
    #: The phrase list and suitability rules (empty: the shipped files, as the detectors use).
    phrases_file: str = ""
    suitability_rules_file: str = ""
    #: How long a complaint waits for its policy's sale to arrive (out of order).
    pending_s: float = DAY
    tier: str = Tier.HIGH.value

    def __post_init__(self) -> None:
        if not 0 < self.target_rate < 1 or not 0 < self.p_value < 1:
            raise ValueError("target_rate and p_value must be in (0, 1)")
        if self.window_s <= 0 or self.pending_s <= 0 or self.min_signals < 1:
            raise ValueError("window_s and pending_s must be positive, min_signals at least 1")
        unknown = set(self.signals) - set(SIGNALS)
        if unknown:
            raise ValueError(f"unknown signals {sorted(unknown)}; known: {', '.join(SIGNALS)}")
        Tier(self.tier)


@dataclass(frozen=True, slots=True)
class PartnerContractConfig:
    #: Largest acceptable mean |applied - contracted| / contracted commission rate.
    max_deviation: float = 0.02
    window_s: float = 30 * DAY
    min_policies: int = 10
    min_off_contract: int = 3
    #: Contracted commission rate per partner id, where ``policy_issued`` carries none.
    contract_commission_rates: dict[str, float] = field(default_factory=dict)
    tier: str = Tier.HIGH.value

    def __post_init__(self) -> None:
        if not 0 < self.max_deviation < 1 or self.window_s <= 0:
            raise ValueError("max_deviation must be in (0, 1) and window_s positive")
        if self.min_policies < 1 or self.min_off_contract < 1:
            raise ValueError("min_policies and min_off_contract must be at least 1")
        for partner, rate in self.contract_commission_rates.items():
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1:
                raise ValueError(f"contract_commission_rates[{partner!r}] must be a rate in (0, 1]")
        object.__setattr__(self, "contract_commission_rates",
                           {p: float(r) for p, r in self.contract_commission_rates.items()})
        Tier(self.tier)


def compliance_counts(policies: dict[str, list]) -> tuple[int, int]:
    """(policies sold, those with a mis-selling signal) in a book folded by
    :meth:`PartnerComplianceDetector.fold`; the compliance rate is ``1 - flagged / sold``."""
    sold = [e for e in policies.values() if e[0] is not None]
    return len(sold), sum(1 for e in sold if e[2])


def contract_figures(policies: dict[str, list], max_deviation: float) -> tuple[int, int, float]:
    """(policies, those off contract by more than ``max_deviation``, mean relative
    deviation) of a book folded by :meth:`PartnerContractDetector.fold`."""
    deviations = [e[1] for e in policies.values()]
    n = len(deviations)
    return n, sum(1 for d in deviations if d > max_deviation), (sum(deviations) / n if n else 0.0)


# State: {"p": {policy id: entry (the subclass's)}, "l": latest event time,
#         "w": window_start of the alert on the current breach, or None while within target}
class PartnerKpiCore(Detector):
    """A rolling book of each partner's policies; subclasses fold events into it
    and judge it. State is kept per partner."""

    version = "1"
    keyspace = "partner"
    typology: ClassVar[str]

    def key(self, event: Event) -> str | None:
        return event.partner_id

    @abstractmethod
    def fold(self, event: Event, policies: dict[str, list]) -> bool:
        """Fold ``event`` into the partner's policies; False if it changes nothing (a duplicate)."""

    @abstractmethod
    def judge(self, policies: dict[str, list], event: Event | None) -> tuple[str, float, str, dict[str, Any]] | None:
        """(tier reason, score, summary, evidence) when the KPI is off target, else None
        (``event``: the one that triggered the judgement, for the evidence)."""

    @abstractmethod
    def entry_time(self, entry: list) -> float:
        """The time that keeps a policy in the window."""

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        if event.partner_id is None or event.policy_id is None:
            return state, []
        state = state or {"p": {}, "l": event.time, "w": None}
        if not self.fold(event, state["p"]):
            return state if state["p"] else None, []
        state["l"] = max(state["l"], event.time)
        self._evict(state, state["l"])
        judged = self.judge(state["p"], event)
        if judged is None:
            state["w"] = None  # within target (again): the next breach is a new alert
            return state, []
        if state["w"] is not None:
            return state, []  # this breach has been flagged already
        window = self.config.window_s
        window_start = (event.time // window) * window
        state["w"] = window_start
        reason, score, summary, evidence = judged
        return state, [Finding(
            detector=self.name,
            detector_version=self.version,
            typology=self.typology,
            tier=Tier(self.config.tier),
            tier_reason=reason,
            entity_type="partner",
            entity_id=event.partner_id,
            window_start=window_start,
            event_time=event.time,
            score=score,
            summary=f"partner {event.partner_id}: {summary}",
            evidence=evidence,
            branch_id=event.branch_id,
            partner_id=event.partner_id,
        )]

    def _evict(self, state: dict, now: float) -> None:
        horizon = now - self.config.window_s
        state["p"] = {p: e for p, e in state["p"].items() if self.entry_time(e) >= horizon}

    def advance(self, state: State, watermark: float) -> tuple[State, list[Finding]]:
        if not state:
            return None, []
        self._evict(state, watermark)
        if state["w"] is not None and self.judge(state["p"], None) is None:
            state["w"] = None  # back within target as policies left the window
        return (state if state["p"] else None), []


@register("partner_compliance")
class PartnerComplianceDetector(PartnerKpiCore):
    """Flags a partner whose share of policies with no mis-selling signal is below target.

    >>> from detectors.events import Event
    >>> d = PartnerComplianceDetector(PartnerComplianceConfig())
    >>> state, found = None, []
    >>> for i in range(10):
    ...     sale = Event(f"s{i}", "sale_recorded", "policy", i * 60.0, policy_id=f"P{i}", partner_id="PT1",
    ...                  transcript="保障全面" if i < 7 else "稳赚不赔")
    ...     state, found = d.observe(sale, state)
    >>> found[0].evidence["flagged_policies"], found[0].evidence["policies"], found[0].evidence["compliance_rate"]
    (3, 10, 0.7)
    """

    name = "partner_compliance"
    event_types = frozenset({"sale_recorded", "complaint_filed"})
    typology = "partner_compliance_rate"

    def __init__(self, config: PartnerComplianceConfig) -> None:
        self.config = config
        self.matcher = PhraseMatcher(config.phrases_file) if "banned_phrase" in config.signals else None
        self.rules = SuitabilityRules(config.suitability_rules_file) if "unsuitable_sale" in config.signals else None

    def counts_complaint(self, event: Event) -> bool:
        """Whether a filed complaint is a mis-selling signal under this configuration."""
        return ("mis_selling_complaint" in self.config.signals
                and event.category in self.config.complaint_categories)

    def key(self, event: Event) -> str | None:
        if event.event_type == "complaint_filed" and not self.counts_complaint(event):
            return None
        return event.partner_id

    def _sale_signals(self, event: Event) -> list[str]:
        kinds = []
        if self.matcher is not None and self.matcher.search(event.transcript):
            kinds.append("banned_phrase")
        if self.rules is not None and self.rules.check(event):
            kinds.append("unsuitable_sale")
        return kinds

    # entry: [sale time or None, time first seen, [[event id, signal kind], ...]]
    def fold(self, event: Event, policies: dict[str, list]) -> bool:
        entry = policies.get(event.policy_id)
        if event.event_type == "sale_recorded":
            if entry is not None and entry[0] is not None and entry[0] <= event.time:
                return False  # this sale (or an earlier record of it) is known
            entry = entry or [None, event.time, []]
            entry[0] = event.time
            entry[2] = [s for s in entry[2] if s[0] != event.event_id]
            entry[2] += [[event.event_id, kind] for kind in self._sale_signals(event)]
        else:
            if not self.counts_complaint(event):
                return False
            entry = entry or [None, event.time, []]
            if any(s[0] == event.event_id for s in entry[2]):
                return False
            entry[2].append([event.event_id, "mis_selling_complaint"])
        policies[event.policy_id] = entry
        return True

    def entry_time(self, entry: list) -> float:
        # A complaint still waiting for its sale stays ``pending_s``, as if sold then.
        if entry[0] is None:
            return entry[1] + self.config.pending_s - self.config.window_s
        return entry[0]

    def judge(self, policies: dict[str, list], event: Event | None) -> tuple[str, float, str, dict[str, Any]] | None:
        cfg = self.config
        n, k = compliance_counts(policies)
        flagged = [e for e in policies.values() if e[0] is not None and e[2]]
        if k < cfg.min_signals or k / n <= 1 - cfg.target_rate:
            return None
        tail = binomial_sf(k, n, 1 - cfg.target_rate)
        if tail >= cfg.p_value:
            return None
        rate = 1 - k / n
        kinds: dict[str, int] = {}
        ids: list[str] = []
        for entry in flagged:
            for event_id, kind in entry[2]:
                kinds[kind] = kinds.get(kind, 0) + 1
                ids.append(event_id)
        if event is not None and event.event_id not in ids:
            ids.append(event.event_id)
        return (
            f"compliance rate {rate:.1%} below the {cfg.target_rate:.0%} target",
            round((k / n) / (1 - cfg.target_rate), 3),
            f"compliance rate {rate:.1%} ({k} of {n} policies with a mis-selling signal) within "
            f"{cfg.window_s / DAY:.0f} days, target {cfg.target_rate:.0%} (p={tail:.1e})",
            {"policies": n, "flagged_policies": k, "compliance_rate": round(rate, 4), "target_rate": cfg.target_rate,
             "p_value": tail, "signals": dict(sorted(kinds.items())), "window_s": cfg.window_s, "event_ids": ids},
        )


@register("partner_contract")
class PartnerContractDetector(PartnerKpiCore):
    """Flags a partner whose commission deviates from its contract by more than 2% on average.

    >>> from detectors.events import Event
    >>> d = PartnerContractDetector(PartnerContractConfig())
    >>> state, found = None, []
    >>> for i in range(10):  # 4 of 10 policies at 0.27 where the contract says 0.25
    ...     issued = Event(f"e{i}", "policy_issued", "policy", i * 60.0, policy_id=f"P{i}", partner_id="PT1",
    ...                    commission_rate=0.27 if i < 4 else 0.25, contract_commission_rate=0.25)
    ...     state, found = d.observe(issued, state)
    >>> found[0].evidence["mean_deviation"], found[0].evidence["off_contract"]
    (0.032, 4)
    """

    name = "partner_contract"
    event_types = frozenset({"policy_issued"})
    typology = "partner_contract_deviation"

    def __init__(self, config: PartnerContractConfig) -> None:
        self.config = config

    def contracted(self, event: Event) -> float | None:
        if event.contract_commission_rate is not None:
            return event.contract_commission_rate
        return self.config.contract_commission_rates.get(event.partner_id or "")

    def key(self, event: Event) -> str | None:
        if event.commission_rate is None or self.contracted(event) is None:
            return None
        return event.partner_id

    # entry: [issue time, relative deviation, event id]
    def fold(self, event: Event, policies: dict[str, list]) -> bool:
        contracted = self.contracted(event)
        if event.commission_rate is None or contracted is None:
            return False
        entry = policies.get(event.policy_id)
        if entry is not None and (entry[2] == event.event_id or entry[0] <= event.time):
            return False  # the same issue, or a later re-send of it
        policies[event.policy_id] = [event.time, abs(event.commission_rate - contracted) / contracted,
                                     event.event_id]
        return True

    def entry_time(self, entry: list) -> float:
        return entry[0]

    def judge(self, policies: dict[str, list], event: Event | None) -> tuple[str, float, str, dict[str, Any]] | None:
        cfg = self.config
        n, _, mean = contract_figures(policies, cfg.max_deviation)
        off = sorted((e for e in policies.values() if e[1] > cfg.max_deviation), key=lambda e: e[0])
        if n < cfg.min_policies or len(off) < cfg.min_off_contract or mean <= cfg.max_deviation:
            return None
        ids = [e[2] for e in off]
        if event is not None and event.event_id not in ids:
            ids.append(event.event_id)
        return (
            f"mean commission deviation {mean:.1%} above the {cfg.max_deviation:.0%} limit",
            round(mean / cfg.max_deviation, 3),
            f"commission deviates from contract by {mean:.1%} on average over {n} policies "
            f"({len(off)} off contract by more than {cfg.max_deviation:.0%}) within {cfg.window_s / DAY:.0f} days",
            {"policies": n, "off_contract": len(off), "mean_deviation": round(mean, 4),
             "max_deviation": cfg.max_deviation, "window_s": cfg.window_s, "event_ids": ids},
        )
