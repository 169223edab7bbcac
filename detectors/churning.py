"""Churning (replacement): a customer gives up a policy and buys a new one
through the same agent within a short window.

Per customer, the policies that ended (``surrendered``, ``cooling_off_cancelled``)
and the policies bought (``sale_recorded`` or ``policy_issued``; one policy
counts once) within ``window_s`` (default 90 days) of event time are kept. An
ended policy and a *different* new policy through the *same agent* whose
times are at most ``window_s`` apart, in either order (a surrender to fund the
new sale, or the new sale first), make a replacement. The customer is flagged
``medium`` once per episode; if the episode goes on to replace
``high_replacements`` (default 2) policies, the same alert (same window) is
raised to ``high`` once. A new policy through another agent, or more than
``window_s`` later, is not churning.

The alert is on the customer (the state's key); the evidence names the agent,
the policies replaced and the new ones. Events older than ``window_s`` before
the newest event seen for the customer are too late to pair and are ignored.
"""
from __future__ import annotations

from dataclasses import dataclass

from detectors.base import Detector, Finding, State, Tier, earliest, register
from detectors.events import Event

TYPOLOGY = "churning"
DAY = 86_400.0
EXITS = frozenset({"surrendered", "cooling_off_cancelled"})
ENTRIES = frozenset({"sale_recorded", "policy_issued"})


@dataclass(frozen=True, slots=True)
class ChurningConfig:
    #: Longest time between the end of one policy and the purchase of the next.
    window_s: float = 90 * DAY
    tier: str = Tier.MEDIUM.value
    #: Replaced policies in one episode from which the alert is high.
    high_replacements: int = 2

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.high_replacements < 1:
            raise ValueError("window_s must be positive and high_replacements at least 1")
        Tier(self.tier)


# State: {"o": [[time, policy_id, agent_id, event_id, event_type], ...] policies that ended,
#         "i": [[time, policy_id, agent_id, event_id], ...] policies bought,
#         "f": [[agent_id, window_start, last_time, high], ...] episodes flagged}
@register("churning")
class ChurningDetector(Detector):
    """Flags a customer who surrenders or cancels a policy and buys a new one
    through the same agent within ``window_s``; state is kept per customer.

    >>> from detectors.events import Event
    >>> d = ChurningDetector(ChurningConfig())
    >>> out = Event("e1", "surrendered", "policy", 0.0, policy_id="P1", customer_id="C1", agent_id="A1")
    >>> new = Event("e2", "sale_recorded", "policy", 30 * 86_400.0, policy_id="P2", customer_id="C1",
    ...             agent_id="A1")
    >>> state, _ = d.observe(out, None)
    >>> _, [found] = d.observe(new, state)
    >>> found.tier.value, found.evidence["replaced_policies"], found.evidence["days_apart"]
    ('medium', ['P1'], 30.0)
    """

    name = "churning"
    typologies = (TYPOLOGY,)
    version = "1"
    event_types = EXITS | ENTRIES
    keyspace = "customer"

    def __init__(self, config: ChurningConfig) -> None:
        self.config = config

    def key(self, event: Event) -> str | None:
        if event.agent_id is None or event.policy_id is None:
            return None
        return event.customer_id

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        if event.agent_id is None or event.policy_id is None:
            return state, []
        state = state or {"o": [], "i": [], "f": []}
        if any(item[3] == event.event_id for item in state["o"] + state["i"]):
            return state, []  # duplicate delivery
        newest = max([event.time] + [item[0] for item in state["o"] + state["i"]])
        if event.time < newest - self.config.window_s:
            return state, []  # too late to pair with anything kept
        if event.event_type in EXITS:
            state["o"].append([event.time, event.policy_id, event.agent_id, event.event_id, event.event_type])
            state["o"].sort()
        else:
            state["i"].append([event.time, event.policy_id, event.agent_id, event.event_id])
            state["i"].sort()
        self._evict(state, newest)
        return state, self._check(state, event)

    def _pairs(self, state: dict, agent: str) -> list[tuple[list, list]]:
        window = self.config.window_s
        return [(out, new) for out in state["o"] if out[2] == agent for new in state["i"]
                if new[2] == agent and new[1] != out[1] and abs(new[0] - out[0]) <= window]

    def _check(self, state: dict, event: Event) -> list[Finding]:
        agent = event.agent_id
        pairs = self._pairs(state, agent)
        if not pairs:
            return []
        first = min(min(out[0], new[0]) for out, new in pairs)
        last = max(max(out[0], new[0]) for out, new in pairs)
        replaced = sorted({out[1] for out, _ in pairs})
        high = len(replaced) >= self.config.high_replacements
        window = self.config.window_s
        for flag in state["f"]:
            if flag[0] == agent and first <= flag[2] + window:
                flag[2] = max(flag[2], last)
                if flag[3] or not high:
                    return []  # this episode has been flagged already, at this tier
                flag[3] = True
                return [self._finding(event, pairs, flag[1], high)]
        state["f"].append([agent, first, last, high])
        return [self._finding(event, pairs, first, high)]

    def _finding(self, event: Event, pairs: list[tuple[list, list]], window_start: float, high: bool) -> Finding:
        cfg = self.config
        replaced = sorted({out[1] for out, _ in pairs})
        new_policies = sorted({new[1] for _, new in pairs})
        closest = min(abs(new[0] - out[0]) for out, new in pairs)
        event_ids = sorted({out[3] for out, _ in pairs} | {new[3] for _, new in pairs})
        return Finding(
            detector=self.name,
            detector_version=self.version,
            typology=TYPOLOGY,
            tier=Tier.HIGH if high else Tier(cfg.tier),
            tier_reason=(f"{len(replaced)} policies replaced through one agent (high from {cfg.high_replacements})"
                         if high else "a policy ended and a new one sold through the same agent"),
            entity_type="customer",
            entity_id=event.customer_id or "",
            window_start=window_start,
            event_time=event.time,
            score=float(len(replaced)),
            summary=(f"customer {event.customer_id}: {', '.join(replaced)} ended and {', '.join(new_policies)} "
                     f"bought through agent {event.agent_id} within {closest / DAY:.0f} days"),
            evidence={
                "agent_id": event.agent_id,
                "replaced_policies": replaced,
                "ended_by": sorted({out[4] for out, _ in pairs}),
                "new_policies": new_policies,
                "days_apart": round(closest / DAY, 2),
                "window_days": cfg.window_s / DAY,
                "event_ids": event_ids,
            },
            branch_id=event.branch_id,
            partner_id=event.partner_id,
        )

    def _evict(self, state: dict, now: float) -> None:
        horizon = now - self.config.window_s
        state["o"] = [item for item in state["o"] if item[0] >= horizon]
        state["i"] = [item for item in state["i"] if item[0] >= horizon]
        state["f"] = [flag for flag in state["f"] if flag[2] >= horizon - self.config.window_s]

    def advance(self, state: State, watermark: float) -> tuple[State, list[Finding]]:
        if not state:
            return None, []
        self._evict(state, watermark)
        if not state["o"] and not state["i"] and not state["f"]:
            return None, []
        return state, []

    def due(self, state: State) -> float:
        window = self.config.window_s
        return earliest((item[0] + window for item in (*state["o"], *state["i"])),
                        (flag[2] + 2 * window for flag in state["f"]))
