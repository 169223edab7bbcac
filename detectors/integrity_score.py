"""The agent integrity score: 100 points, less a deduction per sign of mis-selling.

The rule book is ``detectors/data/integrity_rules.json`` (the risk team edits
it; ``IntegrityScoreConfig.rules_file`` points at another one). Deductions,
by default:

======================  ======  ==============================================================
signal                  points  counted
======================  ======  ==============================================================
banned_phrase           20      a sale whose transcript holds a banned phrase (the phrase
                                matcher of :mod:`detectors.banned_phrases`), once per sale
unsuitable_sale         15      a sale breaking a rule of :mod:`detectors.suitability`, once per
                                sale however many rules
mis_selling_complaint   15      a complaint of category ``mis_selling``
cooling_off_cancelled   5       a policy cancelled in its cooling-off period
callback_failed         2       a new-policy callback failed, once per policy however many
                                attempts fail (a customer may simply not answer)
confirmed_mis_selling   30      an investigator confirmed an alert on the agent: an
                                ``alert_confirmed`` event (complaint stream) naming the agent
                                and the typology
======================  ======  ==============================================================

**Recovery.** Each deduction lapses ``deduction_lifetime_days`` (365) after
the event that caused it: the score is that of the last twelve months, as in
the annual integrity-record reviews insurers run. There is no other bonus.

**Tiers.** When the score falls below ``threshold`` (60: "below 60 restricts
selling") the agent is flagged ``high`` (typology ``integrity_below_threshold``).
It is flagged again only after climbing back to 60 or more (deductions lapsing)
and falling below once more; a crossing while another crossing lies within
``crossing_memory_days`` (365) is ``critical`` ("below 60 twice removes the
agent"). A score of exactly 60 is not below 60.

The alert shows how the score was made: every live deduction with its signal,
points, time and event id. State is kept per agent: the deductions of the last
``deduction_lifetime_days`` and the crossings of the last ``crossing_memory_days``;
an event older than the lifetime before the agent's newest is ignored.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

from detectors.banned_phrases import PhraseMatcher
from detectors.base import Detector, Finding, State, Tier, earliest, register
from detectors.datafiles import read_data_file
from detectors.events import Event
from detectors.suitability import SuitabilityRules

TYPOLOGY = "integrity_below_threshold"
DAY = 86_400.0
SIGNALS = ("banned_phrase", "unsuitable_sale", "mis_selling_complaint", "cooling_off_cancelled", "callback_failed",
           "confirmed_mis_selling")


@dataclass(frozen=True, slots=True)
class IntegrityScoreConfig:
    #: JSON rule book; empty means ``detectors/data/integrity_rules.json``.
    rules_file: str = ""
    #: Banned phrases; empty means the list shipped with riskwatch (as for ``banned_phrases``).
    phrases_file: str = ""
    #: Suitability rules; empty means the rules shipped with riskwatch (as for ``suitability``).
    suitability_rules_file: str = ""
    tier: str = Tier.HIGH.value
    #: Tier of a crossing while an earlier one is remembered.
    repeat_tier: str = Tier.CRITICAL.value

    def __post_init__(self) -> None:
        Tier(self.tier)
        Tier(self.repeat_tier)


def load_integrity_rules(rules_file: str = "") -> dict[str, Any]:
    """The rule book, checked; raises ``ValueError`` naming the field."""
    rules = orjson.loads(read_data_file("integrity_rules.json", rules_file))
    for name in ("start_score", "threshold", "deduction_lifetime_days", "crossing_memory_days"):
        if not isinstance(rules.get(name), (int, float)) or rules[name] <= 0:
            raise ValueError(f"integrity rules: {name} must be a positive number")
    if rules["threshold"] > rules["start_score"]:
        raise ValueError("integrity rules: threshold must not be above start_score")
    deductions = rules.get("deductions")
    if not isinstance(deductions, dict) or set(deductions) != set(SIGNALS):
        raise ValueError(f"integrity rules: deductions must list exactly {', '.join(SIGNALS)}")
    for name, rule in deductions.items():
        if not isinstance(rule, dict) or not isinstance(rule.get("points"), (int, float)) or rule["points"] < 0:
            raise ValueError(f"integrity rules: deductions.{name}.points must be a number, not negative")
    return rules


# State: {"d": [[time, points, signal, subject, event_id], ...] live deductions, sorted,
#         "c": [time, ...] crossings below the threshold still remembered,
#         "b": whether the score is below the threshold now,
#         "l": newest event time seen for the agent}
@register("integrity_score")
class IntegrityScoreDetector(Detector):
    """Keeps each agent's integrity score and flags it falling below the
    threshold; state is kept per agent.

    >>> from detectors.events import Event
    >>> d = IntegrityScoreDetector(IntegrityScoreConfig())
    >>> state, found = None, []
    >>> for i in range(2):  # two sales with a banned phrase: 100 - 2 x 20 = 60, not below 60
    ...     state, found = d.observe(Event(f"s{i}", "sale_recorded", "policy", i * 60.0, policy_id=f"P{i}",
    ...                                    agent_id="A1", transcript="稳赚不赔"), state)
    >>> d.score(state), found
    (60.0, [])
    >>> state, found = d.observe(Event("c1", "cooling_off_cancelled", "policy", 600.0, policy_id="P9",
    ...                                agent_id="A1"), state)
    >>> found[0].tier.value, found[0].evidence["score"], [x["signal"] for x in found[0].evidence["deductions"]]
    ('high', 55.0, ['banned_phrase', 'banned_phrase', 'cooling_off_cancelled'])
    """

    name = "integrity_score"
    typologies = (TYPOLOGY,)
    version = "1"
    event_types = frozenset({"sale_recorded", "callback_failed", "cooling_off_cancelled", "complaint_filed",
                             "alert_confirmed"})
    keyspace = "agent"

    def __init__(self, config: IntegrityScoreConfig) -> None:
        self.config = config
        self.rules = load_integrity_rules(config.rules_file)
        self.points = {name: float(rule["points"]) for name, rule in self.rules["deductions"].items()}
        self.lifetime_s = self.rules["deduction_lifetime_days"] * DAY
        self.memory_s = self.rules["crossing_memory_days"] * DAY
        self.matcher = PhraseMatcher(config.phrases_file)
        self.suitability = SuitabilityRules(config.suitability_rules_file)

    def key(self, event: Event) -> str | None:
        return event.agent_id

    def signals(self, event: Event) -> list[tuple[str, str]]:
        """``(signal, subject)`` pairs this event deducts for; the subject (a
        policy, complaint or event id) makes a signal count once per subject."""
        kind = event.event_type
        if kind == "sale_recorded" and event.policy_id:
            found = []
            if self.matcher.search(event.transcript):
                found.append(("banned_phrase", event.policy_id))
            if self.suitability.check(event):
                found.append(("unsuitable_sale", event.policy_id))
            return found
        if kind in ("cooling_off_cancelled", "callback_failed") and event.policy_id:
            return [(kind, event.policy_id)]
        if kind == "complaint_filed" and event.category == "mis_selling" and event.complaint_id:
            return [("mis_selling_complaint", event.complaint_id)]
        if kind == "alert_confirmed" and event.typology and event.typology != TYPOLOGY:
            return [("confirmed_mis_selling", event.event_id)]
        return []

    def score(self, state: State) -> float:
        """The agent's score now (the start score for an agent with no state)."""
        return float(self.rules["start_score"]) - sum(d[1] for d in (state or {}).get("d", ()))

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        signals = self.signals(event)
        if not signals:
            return state, []
        state = state or {"d": [], "c": [], "b": False, "l": event.time}
        if event.time < state["l"] - self.lifetime_s:
            return state, []  # would have lapsed already
        known = {(d[2], d[3]) for d in state["d"]}
        fresh = [(signal, subject) for signal, subject in signals if (signal, subject) not in known]
        if not fresh:
            return state, []  # duplicate delivery, or a signal already counted for this subject
        for signal, subject in fresh:
            state["d"].append([event.time, self.points[signal], signal, subject, event.event_id])
        state["d"].sort()
        state["l"] = max(state["l"], event.time)
        self._lapse(state, state["l"])
        return state, self._check(state, event)

    def _check(self, state: dict, event: Event) -> list[Finding]:
        cfg, threshold = self.config, self.rules["threshold"]
        score = self.score(state)
        if score >= threshold or state["b"]:
            return []
        state["b"] = True
        state["c"].append(event.time)
        repeat = len(state["c"]) >= 2
        deductions = [{"signal": d[2], "points": d[1], "subject": d[3], "time": d[0], "event_id": d[4]}
                      for d in state["d"]]
        counts: dict[str, int] = {}
        for d in state["d"]:
            counts[d[2]] = counts.get(d[2], 0) + 1
        made_of = ", ".join(f"{n} {signal.replace('_', ' ')}" for signal, n in counts.items())
        memory_days = self.rules["crossing_memory_days"]
        return [Finding(
            detector=self.name,
            detector_version=self.version,
            typology=TYPOLOGY,
            tier=Tier(cfg.repeat_tier if repeat else cfg.tier),
            tier_reason=(f"below {threshold:g} for the second time within {memory_days:g} days: removal"
                         if repeat else f"score {score:g} below {threshold:g}: selling restricted"),
            entity_type="agent",
            entity_id=event.agent_id or "",
            window_start=state["d"][0][0],
            event_time=event.time,
            score=score,
            summary=f"agent {event.agent_id}: integrity score {score:g} below {threshold:g} ({made_of})",
            evidence={
                "score": score,
                "threshold": threshold,
                "start_score": self.rules["start_score"],
                "crossings": len(state["c"]),
                "deductions": deductions,
                "branch_id": event.branch_id,
                "event_ids": list(dict.fromkeys(d[4] for d in state["d"])),
            },
            branch_id=event.branch_id,
            partner_id=event.partner_id,
        )]

    def _lapse(self, state: dict, now: float) -> None:
        state["d"] = [d for d in state["d"] if d[0] >= now - self.lifetime_s]
        state["c"] = [t for t in state["c"] if t >= now - self.memory_s]
        if state["b"] and self.score(state) >= self.rules["threshold"]:
            state["b"] = False  # recovered: a new fall below the threshold is a new crossing

    def advance(self, state: State, watermark: float) -> tuple[State, list[Finding]]:
        if not state:
            return None, []
        self._lapse(state, max(watermark, state["l"]))
        if not state["d"] and not state["c"]:
            return None, []
        return state, []

    def due(self, state: State) -> float:
        if state["b"] and self.score(state) >= self.rules["threshold"]:
            return -math.inf  # recovered already: the next lapse clears the crossing
        first = earliest((d[0] + self.lifetime_s for d in state["d"]), (t + self.memory_s for t in state["c"]))
        return -math.inf if first < state["l"] else first  # lapses run at the latest event time at least
