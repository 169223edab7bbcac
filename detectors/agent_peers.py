"""Agents whose behaviour is out of line with their peers (same branch).

Four rates per agent over a rolling ``window_s`` (default 30 days) of event
time, each a detector of its own (an alert's id is its detector, entity and
window, so one agent out of line on two rates raises two alerts):

========================================  =====================================  ==============================
typology                                  events                                 per (exposure)
========================================  =====================================  ==============================
``agent_outlier_cooling_off``             ``cooling_off_cancelled``              policy sold (``sale_recorded``)
``agent_outlier_surrender``               ``surrendered`` at most 730 days after  policy sold
                                          issue (``policy_age_days``)
``agent_outlier_callback_failure``        ``callback_failed``                    callback (completed or failed)
``agent_outlier_complaints``              ``complaint_filed``                    policy sold
========================================  =====================================  ==============================

The statistics (:mod:`detectors.stats`, shared with the partner scorecard):

* The **peer rate** is the pooled rate of the agent's branch colleagues in the
  window (the agent left out), shrunk towards a prior rate a risk team would
  accept for the whole company (``prior_*_rate``) as if the prior had been
  seen over ``prior_weight`` (200) policies: a small or quiet branch is
  compared with the company norm, a large one mostly with itself. So that one
  outlier does not hide another, a colleague counts at most as many events as
  its own exposure (a burst of complaints against an agent who sold nothing in
  the window adds nothing), and colleagues already flagged in the window are
  left out.
* The agent's count ``k`` of ``n`` (exposure; at least ``k``, as a
  cancellation may be of a policy sold before the window) is tested one-sided
  against a **beta-binomial** around the peer rate with concentration
  ``concentration`` (100): agents differ from each other even when nobody
  mis-sells, and the beta-binomial's fatter tail allows for that, where a plain
  binomial would flag the naturally high-rate agent.
* It fires when the tail probability ``P(X >= k) < p_value`` (1e-4), the
  agent has at least ``min_events`` (3) events and ``min_exposure`` (10)
  policies or callbacks, and its rate is at least ``min_rate_ratio`` (2) times
  the peer rate. One event, or two out of three sales, never fires, however
  unlikely: small samples are left to the integrity score and complaint spikes.

**False-alarm rate.** The test is set for a one-sided p < 1e-4 per agent, per
rate, per evaluation (an agent is evaluated at each of its own events). With
about 50 agents a branch and four rates, Bonferroni bounds the chance of any
false alarm in a branch at one evaluation of each by 200 x 1e-4 = 2%; over a
company of 2,000 agents, at most 0.8 a round of evaluations. The real rate is
far lower: the test of a count is discrete and conservative (a count reaching
p < 1e-4 is rarer than 1e-4), successive evaluations of one agent are
strongly dependent (each adds one event), and the minimum counts rule out most
evaluations altogether. Lower ``p_value`` for fewer, surer alerts.

Tier: ``tier`` (medium: a supervision case, not a block); when the tail
probability falls below ``high_p_value`` (1e-8) the same alert (same window)
is raised to ``high_tier`` (high) once. An agent is flagged at most once per
``window_s`` per rate.

State is kept per **branch** (the peer group) and holds, per agent active in
the window, the times and ids of its events and exposure; an agent with
nothing left in the window is dropped, and events older than ``window_s``
before the newest event of the branch are ignored.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from detectors.base import Detector, Finding, State, Tier, earliest, register
from detectors.events import Event
from detectors.peer_groups import check_settings, evict_oldest, expire_flags, flag, note_item, oldest_items
from detectors.peer_groups import due as peers_due
from detectors.stats import peer_outlier

DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class AgentPeerConfig:
    window_s: float = 30 * DAY
    #: One-sided tail probability below which an agent is out of line.
    p_value: float = 1e-4
    #: Below this tail probability the alert is raised to ``high_tier``.
    high_p_value: float = 1e-8
    min_events: int = 3
    #: Policies sold (callbacks, for the callback rate) the agent needs in the window.
    min_exposure: int = 10
    #: The agent's rate must also be at least this multiple of the peer rate.
    min_rate_ratio: float = 2.0
    #: Weight of the prior in the peer rate, in policies (callbacks).
    prior_weight: float = 200.0
    #: Concentration of agents' own rates around the peer rate (beta-binomial).
    concentration: float = 100.0
    #: A surrender at most this many days after issue is early.
    early_surrender_days: int = 730
    #: Company-wide rates a risk team expects, per policy sold (per callback).
    prior_cooling_off_rate: float = 0.03
    prior_early_surrender_rate: float = 0.02
    prior_callback_failure_rate: float = 0.05
    prior_complaint_rate: float = 0.02
    tier: str = Tier.MEDIUM.value
    high_tier: str = Tier.HIGH.value

    def __post_init__(self) -> None:
        check_settings(self, (self.prior_cooling_off_rate, self.prior_early_surrender_rate,
                              self.prior_callback_failure_rate, self.prior_complaint_rate))
        if self.early_surrender_days < 0:
            raise ValueError("early_surrender_days must not be negative")


# State (per branch): {"a": {agent_id: {"n": [[time, event_id], ...] exposure, sorted,
#                                       "x": [[time, event_id], ...] events, sorted}},
#                      "f": {agent_id: [window_start, until, high]} agents flagged,
#                      "l": newest event time seen in the branch,
#                      "e": no eviction drops anything before this time (absent: unknown),
#                      "h": heap of [time of its oldest item, agent_id] (absent: built when needed)}
# "e" spares observe an eviction that drops nothing, and "h" an eviction the walk over
# every agent of the branch (eviction and due() walked all of them at every event: 19%
# of the worker's keyed stage late in a million-event burst, branches of ~50 agents; with
# "e" alone still 23% once the burst's items expired at nearly every event).
class AgentPeerDetector(Detector):
    """One rate of every agent of a branch against the branch's other agents
    (subclasses name the rate)."""

    version = "1"
    keyspace = "branch"
    finding_entity = "agent"
    typology: ClassVar[str]
    #: Short name of the rate, in evidence and summaries.
    metric: ClassVar[str]
    #: Event types that are the events counted, and those that are exposure.
    counted: ClassVar[frozenset[str]]
    exposure: ClassVar[frozenset[str]]
    #: The DetectorConfig field with the prior rate.
    prior_field: ClassVar[str]
    #: What one unit of exposure is, for people.
    per: ClassVar[str] = "policies sold"

    def __init__(self, config: AgentPeerConfig) -> None:
        self.config = config
        self.prior_rate: float = getattr(config, self.prior_field)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.event_types = cls.counted | cls.exposure

    def key(self, event: Event) -> str | None:
        if event.agent_id is None:
            return None
        return event.branch_id

    def counts(self, event: Event) -> bool:
        """Whether ``event`` is one of the events this rate counts."""
        return event.event_type in self.counted

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        agent = event.agent_id
        is_event, is_exposure = self.counts(event), event.event_type in self.exposure
        if agent is None or not (is_event or is_exposure):
            return state, []
        window = self.config.window_s
        state = state or {"a": {}, "f": {}, "l": event.time}
        if event.time < state["l"] - window:
            return state, []  # older than the window: too late to count
        record = state["a"].setdefault(agent, {"n": [], "x": []})
        if any(item[1] == event.event_id for item in record["x" if is_event else "n"]):
            return state, []  # duplicate delivery
        if is_event:
            bisect.insort(record["x"], [event.time, event.event_id])
        if is_exposure:
            bisect.insort(record["n"], [event.time, event.event_id])
        if "h" in state:
            note_item(state["h"], state["a"], agent, event.time)
        state["l"] = max(state["l"], event.time)
        if "e" not in state or state["l"] >= state["e"]:
            self._evict(state, state["l"])
        else:  # nothing to evict; the new item expires at its time + window
            self._note_expiry(state, event.time + window)
        return state, self._test(state, agent, event)

    @staticmethod
    def _note_expiry(state: dict, at: float) -> None:
        if "e" in state:
            state["e"] = min(state["e"], at)

    def _test(self, state: dict, agent: str, event: Event) -> list[Finding]:
        cfg = self.config
        record = state["a"][agent]
        events, sold = len(record["x"]), len(record["n"])
        flagged = state["f"].get(agent)
        if events < cfg.min_events or sold < cfg.min_exposure or (flagged and flagged[2]):
            return []
        agents = list(state["a"])
        x = np.array([len(state["a"][a]["x"]) for a in agents], dtype=float)
        n = np.array([len(state["a"][a]["n"]) for a in agents], dtype=float)
        peers = np.array([a != agent and a not in state["f"] for a in agents], dtype=bool)
        peer_events, peer_exposure = float(np.minimum(x, n)[peers].sum()), float(n[peers].sum())
        hit = peer_outlier(events, sold, peer_events, peer_exposure, self.prior_rate, cfg)
        if hit is None:
            return []
        exposure, rate, peer_rate, tail, high = hit.exposure, hit.rate, hit.peer_rate, hit.p_value, hit.high
        window_start = flag(state["f"], agent, high, record["x"][0][0], event.time, cfg.window_s)
        if window_start is None:
            return []  # flagged already in this window, at this tier
        self._note_expiry(state, state["f"][agent][1])
        event_ids = [item[1] for item in record["x"]]
        if event.event_id not in event_ids:
            event_ids.append(event.event_id)
        return [Finding(
            detector=self.name,
            detector_version=self.version,
            typology=self.typology,
            tier=Tier(cfg.high_tier if high else cfg.tier),
            tier_reason=(f"{self.metric} rate {rate:.0%} against {peer_rate:.1%} for peers, p={tail:.1e}"
                         + (f" (below {cfg.high_p_value:g})" if high else "")),
            entity_type="agent",
            entity_id=agent,
            window_start=window_start,
            event_time=event.time,
            score=rate / peer_rate,
            summary=(f"agent {agent} (branch {event.branch_id}): {events} {self.metric} events in {exposure} "
                     f"{self.per} within {cfg.window_s / DAY:.0f} days, {rate:.0%} against {peer_rate:.1%} "
                     f"for {int(peers.sum())} peers (p={tail:.1e})"),
            evidence={
                "metric": self.metric,
                "events": events,
                "exposure": exposure,
                "rate": round(rate, 4),
                "peer_agents": int(peers.sum()),
                "peers_left_out": len(agents) - 1 - int(peers.sum()),
                "peer_events": int(peer_events),
                "peer_exposure": int(peer_exposure),
                "peer_rate": round(peer_rate, 6),
                "prior_rate": self.prior_rate,
                "p_value": tail,
                "window_days": cfg.window_s / DAY,
                "branch_id": event.branch_id,
                "event_ids": event_ids,
            },
            branch_id=event.branch_id,
            partner_id=event.partner_id,
        )]

    def _evict(self, state: dict, now: float) -> None:
        if "h" not in state:
            state["h"] = oldest_items(state["a"])
        oldest = state["h"]
        evict_oldest(state["a"], oldest, now - self.config.window_s)
        expire_flags(state["f"], now)
        # What peers_due finds by the walk: the heap's first entry is an agent's true oldest item.
        next_eviction = earliest([oldest[0][0] + self.config.window_s] if oldest else [],
                                 (until[1] for until in state["f"].values()))
        if math.isfinite(next_eviction):
            state["e"] = next_eviction
        else:  # nothing left to expire, or overdue: found again at the next event
            state.pop("e", None)

    def advance(self, state: State, watermark: float) -> tuple[State, list[Finding]]:
        if not state:
            return None, []
        self._evict(state, max(watermark, state["l"]))
        if not state["a"] and not state["f"]:
            return None, []
        return state, []

    def due(self, state: State) -> float:
        if "e" in state:
            return state["e"]
        return peers_due(state["a"], state["f"], self.config.window_s, state["l"])


@register("agent_peers")
class CoolingOffOutlier(AgentPeerDetector):
    """Cooling-off cancellations per policy sold, against the branch's other agents.

    >>> from detectors.events import Event
    >>> d = CoolingOffOutlier(AgentPeerConfig())
    >>> state, found = None, []
    >>> for i in range(20):  # agent A1 sells 20 policies, 8 are cancelled in cooling-off
    ...     state, _ = d.observe(Event(f"s{i}", "sale_recorded", "policy", i * 60.0, agent_id="A1",
    ...                                branch_id="B1"), state)
    >>> for i in range(8):
    ...     state, new = d.observe(Event(f"c{i}", "cooling_off_cancelled", "policy", 3600.0 + i * 60,
    ...                                  agent_id="A1", branch_id="B1"), state)
    ...     found += new
    >>> [(f.tier.value, f.evidence["events"], f.evidence["rate"], f.evidence["peer_rate"]) for f in found]
    [('medium', 7, 0.35, 0.03)]
    """

    name = "agent_peers_cooling_off"
    typology = "agent_outlier_cooling_off"
    metric = "cooling-off cancellation"
    counted = frozenset({"cooling_off_cancelled"})
    exposure = frozenset({"sale_recorded"})
    prior_field = "prior_cooling_off_rate"


@register("agent_peers")
class EarlySurrenderOutlier(AgentPeerDetector):
    """Surrenders within ``early_surrender_days`` of issue per policy sold,
    against the branch's other agents. A surrender without ``policy_age_days``
    is not counted (its age is unknown).

    >>> from detectors.events import Event
    >>> d = EarlySurrenderOutlier(AgentPeerConfig())
    >>> d.counts(Event("e1", "surrendered", "policy", 0.0, policy_age_days=730))
    True
    >>> d.counts(Event("e2", "surrendered", "policy", 0.0, policy_age_days=731))
    False
    """

    name = "agent_peers_surrender"
    typology = "agent_outlier_surrender"
    metric = "early surrender"
    counted = frozenset({"surrendered"})
    exposure = frozenset({"sale_recorded"})
    prior_field = "prior_early_surrender_rate"

    def counts(self, event: Event) -> bool:
        return (event.event_type == "surrendered" and event.policy_age_days is not None
                and event.policy_age_days <= self.config.early_surrender_days)


@register("agent_peers")
class CallbackFailureOutlier(AgentPeerDetector):
    """Failed new-policy callbacks per callback made, against the branch's other agents.

    >>> from detectors.events import Event
    >>> d = CallbackFailureOutlier(AgentPeerConfig())
    >>> sorted(d.event_types)
    ['callback_completed', 'callback_failed']
    """

    name = "agent_peers_callback_failure"
    typology = "agent_outlier_callback_failure"
    metric = "callback failure"
    counted = frozenset({"callback_failed"})
    exposure = frozenset({"callback_completed", "callback_failed"})
    prior_field = "prior_callback_failure_rate"
    per = "callbacks"


@register("agent_peers")
class ComplaintRateOutlier(AgentPeerDetector):
    """Complaints per policy sold, against the branch's other agents.

    >>> from detectors.events import Event
    >>> d = ComplaintRateOutlier(AgentPeerConfig())
    >>> sorted(d.event_types)
    ['complaint_filed', 'sale_recorded']
    """

    name = "agent_peers_complaints"
    typology = "agent_outlier_complaints"
    metric = "complaint"
    counted = frozenset({"complaint_filed"})
    exposure = frozenset({"sale_recorded"})
    prior_field = "prior_complaint_rate"
