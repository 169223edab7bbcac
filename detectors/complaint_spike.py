"""Complaint spikes per agent, branch, product and partner, each against its own baseline.

One core (:class:`ComplaintSpikeCore`) and one small keyed class per level:
the agent (typology ``complaint_spike``), the branch (``complaint_spike_branch``),
the product (``complaint_spike_product``) and the partner
(``complaint_spike_partner``). Each level has its own configuration section,
because a branch's baseline is larger than an agent's: by default the branch
level expects 0.5 complaints a day, the partner level 0.3 and the product level
1.0 (complaints follow a product's sales, and a few products sell most); the
branch and partner levels need at least 12 complaints within 24 h, the product
level 15. At these levels each agent's complaints count at most twice
(``max_per_agent``): one agent's bad day is the agent level's alert, and a
branch, partner or product spikes when complaints come from across its agents.

Per entity, complaints filed within the last ``window_s`` of event time are
counted and compared with what the entity's baseline rate predicts for such a
window. The baseline is a gamma-Poisson (empirical-Bayes) blend of the entity's
own history before the window and a prior rate, so a new agent with one
complaint does not fire and an agent that always draws complaints needs a
larger burst. A spike is at least ``min_complaints`` complaints whose Poisson
tail probability under the baseline is below ``p_value``. A window is flagged
once; if it goes on to hold ``high_complaints`` complaints, the same alert (same
window, same alert id) is raised to high once.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import ClassVar

from detectors.base import Detector, Finding, State, Tier, register
from detectors.events import Event
from detectors.stats import poisson_sf

TYPOLOGY = "complaint_spike"
DAY = 86_400.0
#: Defaults of the larger levels (see the module docstring); the agent level uses the class defaults.
BRANCH_DEFAULTS = {"prior_daily_rate": 0.5, "min_complaints": 12, "high_complaints": 25, "max_per_agent": 2}
PRODUCT_DEFAULTS = {"prior_daily_rate": 1.0, "min_complaints": 15, "high_complaints": 30, "max_per_agent": 2}
PARTNER_DEFAULTS = {"prior_daily_rate": 0.3, "min_complaints": 12, "high_complaints": 25, "max_per_agent": 2}


@dataclass(frozen=True, slots=True)
class ComplaintSpikeConfig:
    window_s: float = 24 * 3600.0
    min_complaints: int = 3
    #: One-sided Poisson tail probability below which a count is a spike.
    p_value: float = 1e-4
    #: Prior complaints per entity (agent...) per day, and how many days of weight it has.
    prior_daily_rate: float = 0.02
    prior_days: float = 30.0
    #: An entity with no complaint for this long is forgotten.
    retention_s: float = 180 * DAY
    tier: str = Tier.MEDIUM.value
    #: At or beyond this many complaints in the window the tier is high.
    high_complaints: int = 6
    #: Count at most this many of one agent's complaints in the window (0: no limit). One
    #: agent's own burst is the agent level's alert; a branch spike is one across its agents.
    max_per_agent: int = 0

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.min_complaints < 1 or not 0 < self.p_value < 1:
            raise ValueError("window_s and min_complaints must be positive, p_value in (0, 1)")
        if self.prior_days <= 0 or self.prior_daily_rate < 0:
            raise ValueError("prior_days must be positive and prior_daily_rate not negative")
        if self.max_per_agent < 0:
            raise ValueError("max_per_agent must not be negative")
        Tier(self.tier)


# State: {"c": [[time, event_id(, agent_id when max_per_agent)], ...] complaints within the window, sorted,
#         "n": complaints that have aged out of the window, "t0": first complaint time,
#         "l": latest complaint time,
#         "q": no new alert before this time (end of the last flagged window),
#         "w": window_start of the last alert, "h": whether it has been raised to high}
class ComplaintSpikeCore(Detector):
    """Complaints of one entity within ``window_s`` against the entity's own
    baseline. A subclass names the level: its ``keyspace`` (``agent``,
    ``branch``...) is the entity type, read from the event's ``<keyspace>_id``."""

    version = "1"
    event_types = frozenset({"complaint_filed"})
    typology: ClassVar[str]

    def __init__(self, config: ComplaintSpikeConfig) -> None:
        self.config = config

    def key(self, event: Event) -> str | None:
        return getattr(event, f"{self.keyspace}_id")

    def expected(self, state: dict, now: float) -> float:
        """Complaints the baseline predicts for one window ending at ``now``."""
        cfg = self.config
        history_days = max(0.0, (now - cfg.window_s - state["t0"]) / DAY)
        rate = (state["n"] + cfg.prior_daily_rate * cfg.prior_days) / (history_days + cfg.prior_days)
        return rate * cfg.window_s / DAY

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        state = state or {"c": [], "n": 0, "t0": event.time, "l": event.time, "q": None, "w": None, "h": False}
        recent: list = state["c"]
        if any(c[1] == event.event_id for c in recent):
            return state, []
        entry = [event.time, event.event_id]
        if self.config.max_per_agent:
            entry.append(event.agent_id or event.event_id)
        bisect.insort(recent, entry)
        state["t0"] = min(state["t0"], event.time)
        state["l"] = max(state["l"], event.time)
        self._age(state, recent[-1][0])
        recent = state["c"]
        cfg = self.config
        count = self.counted(recent)
        if count < cfg.min_complaints:
            return state, []
        high = count >= cfg.high_complaints
        flagged = state["q"] is not None and recent[0][0] < state["q"]
        if flagged and (state["h"] or not high):
            return state, []  # this window has been flagged already, at this tier
        expected = self.expected(state, recent[-1][0])
        tail = poisson_sf(count, expected)
        if not flagged:
            if tail >= cfg.p_value:
                return state, []
            first = recent[0][0]
            state["q"] = first + cfg.window_s
            state["w"] = (first // cfg.window_s) * cfg.window_s
        state["h"] = high
        finding = Finding(
            detector=self.name,
            detector_version=self.version,
            typology=self.typology,
            tier=Tier.HIGH if high else Tier(cfg.tier),
            tier_reason=(
                f"{count} complaints in the window (high from {cfg.high_complaints})"
                if high
                else f"{count} complaints where {expected:.2f} were expected"
            ),
            entity_type=self.keyspace,
            entity_id=self.key(event) or "",
            window_start=state["w"],
            event_time=event.time,
            score=count / max(expected, 1e-9),
            summary=(
                f"{self.keyspace} {self.key(event)}: {count} complaints within {cfg.window_s / 3600:.0f} h, "
                f"{expected:.2f} expected (p={tail:.1e})"
            ),
            evidence={
                "complaints": count,
                **({"complaints_filed": len(recent), "max_per_agent": cfg.max_per_agent}
                   if cfg.max_per_agent else {}),
                "expected": round(expected, 4),
                "p_value": tail,
                "window_s": cfg.window_s,
                "branch_id": event.branch_id,
                "event_ids": [c[1] for c in recent],
            },
            branch_id=event.branch_id,
            partner_id=event.partner_id,
        )
        return state, [finding]

    def counted(self, recent: list) -> int:
        """Complaints in the window, each agent's counted up to ``max_per_agent`` (0: all)."""
        cap = self.config.max_per_agent
        if not cap:
            return len(recent)
        per_agent: dict[str, int] = {}
        for c in recent:
            per_agent[c[2]] = per_agent.get(c[2], 0) + 1
        return sum(min(n, cap) for n in per_agent.values())

    def _age(self, state: dict, now: float) -> None:
        horizon = now - self.config.window_s
        recent = state["c"]
        cut = 0
        while cut < len(recent) and recent[cut][0] < horizon:
            cut += 1
        if cut:
            state["n"] += cut
            state["c"] = recent[cut:]

    def advance(self, state: State, watermark: float) -> tuple[State, list[Finding]]:
        if not state:
            return None, []
        self._age(state, watermark)
        if not state["c"] and watermark - state["l"] > self.config.retention_s:
            return None, []
        return state, []

    def due(self, state: State) -> float:
        # _age drops from the front while the oldest has left the window.
        oldest = state["c"][0][0] + self.config.window_s if state["c"] else math.inf
        return min(oldest, state["l"] + self.config.retention_s)


@register("complaint_spike")
class ComplaintSpikeDetector(ComplaintSpikeCore):
    """Flags an agent whose complaints within ``window_s`` are far more than the
    agent's baseline predicts; state is kept per agent.

    >>> from detectors.events import Event
    >>> d = ComplaintSpikeDetector(ComplaintSpikeConfig())
    >>> state, found = None, []
    >>> for i in range(3):  # a new agent: 0.02 complaints a day expected
    ...     filed = Event(f"c{i}", "complaint_filed", "complaint", i * 3600.0, agent_id="A1")
    ...     state, found = d.observe(filed, state)
    >>> found[0].evidence["complaints"], found[0].evidence["expected"]
    (3, 0.02)
    """

    name = "complaint_spike"
    keyspace = "agent"
    typology = TYPOLOGY


@register("complaint_spike_branch")
class BranchComplaintSpikeDetector(ComplaintSpikeCore):
    """Complaint spikes per branch against the branch's own baseline.

    >>> from detectors.events import Event
    >>> d = BranchComplaintSpikeDetector(ComplaintSpikeConfig(**BRANCH_DEFAULTS))
    >>> state, found = None, []
    >>> for i in range(12):  # twelve complaints (twelve agents) in 11 h where 0.5 a day are expected
    ...     filed = Event(f"c{i}", "complaint_filed", "complaint", i * 3600.0, agent_id=f"A{i}", branch_id="B1")
    ...     state, found = d.observe(filed, state)
    >>> found[0].typology, found[0].entity_id, found[0].evidence["expected"]
    ('complaint_spike_branch', 'B1', 0.5)
    """

    name = "complaint_spike_branch"
    keyspace = "branch"
    typology = "complaint_spike_branch"


@register("complaint_spike_product")
class ProductComplaintSpikeDetector(ComplaintSpikeCore):
    """Complaint spikes per product (complaints that name a policy's product).

    >>> from detectors.events import Event
    >>> d = ProductComplaintSpikeDetector(ComplaintSpikeConfig(**PRODUCT_DEFAULTS))
    >>> d.key(Event("c1", "complaint_filed", "complaint", 0.0, product_id="PD1001"))
    'PD1001'
    """

    name = "complaint_spike_product"
    keyspace = "product"
    typology = "complaint_spike_product"


@register("complaint_spike_partner")
class PartnerComplaintSpikeDetector(ComplaintSpikeCore):
    """Complaint spikes per outsourcing partner (complaints against its agents).

    >>> from detectors.events import Event
    >>> d = PartnerComplaintSpikeDetector(ComplaintSpikeConfig(**PARTNER_DEFAULTS))
    >>> d.key(Event("c1", "complaint_filed", "complaint", 0.0, agent_id="A1")) is None  # a tied agent
    True
    """

    name = "complaint_spike_partner"
    keyspace = "partner"
    typology = "complaint_spike_partner"
