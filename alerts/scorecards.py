"""Scorecards: a partner's and a branch's calendar quarter (event time) in figures, against targets.

The one core the worker (:mod:`streams.app`, state in a faust table) and
``riskwatch report`` (:mod:`streams.report`, state in a dict) share. Pure and
clock-free like a detector: state is a JSON value handed in and returned,
event time drives everything, and bad input is the caller's (events come
decoded, alert records as published).

State is kept **per branch**: a branch's state holds its own scorecard and
those of the partners whose business it books. The partner registry gives
each partner one branch (``PartnerProfile.branch_id``); without it the
event's ``branch_id`` decides. Per quarter (``2026Q3``, UTC)::

    {"b": branch id, "w": watermark, "t": {task key: [start, due, partner, decided]},
     "q": {"2026Q3": {"closed": bool, "branch": book, "partners": {partner id: book}}}}

A *book* holds what the figures need, deduplicated by the natural key of
each thing (policy, complaint, alert id, recent event ids for payments):
the compliance and contract books are folded by the partner KPI detectors
themselves (:mod:`detectors.partner_kpis`), so the compliance rate and the
contract deviation are computed once, there.

Figures (:func:`scorecard`; keys documented in README, "Quarterly report"):
policies sold and premium written (``sale_recorded``), premium received
(``premium_paid``), claims paid (``claim_payout``), loss ratio (claims paid /
premium received), complaints, compliance rate, contract deviation, processing
of the deadline tasks the absence detectors watch (callback, complaint,
claim settlement, injury contact: each task counted once, on time or late,
in the quarter it was decided), alerts by tier and typology (quarter of the
alert's first finding), and the share of alerts needing a response (high,
critical) that a person acknowledged or resolved within 24 hours.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from detectors.absence import DeadlineDetector
from detectors.base import REGISTRY, Tier
from detectors.config import DetectorConfig
from detectors.events import Event
from detectors.partner_kpis import (PartnerComplianceDetector, PartnerContractDetector, compliance_counts,
                                    contract_figures)

SCHEMA_VERSION = 1
HOUR = 3600.0
DAY = 86_400.0
TIERS = [t.value for t in Tier]
#: Payment events folded into the figures, and the field each adds to.
MONEY = {"premium_paid": "pr", "claim_payout": "cp"}
#: Most recent payment event ids remembered per branch to drop redeliveries.
RECENT_IDS = 2_000
#: Most high/critical alerts listed per scorecard as evidence.
MAX_LISTED_ALERTS = 20
#: KPI name -> True when higher is better (the target is a floor), False when a ceiling.
KPI_DIRECTION = {"compliance_rate": True, "contract_deviation": False, "processing_on_time_rate": True,
                 "loss_ratio": False, "response_rate": True}


@dataclass(frozen=True, slots=True)
class ScorecardTargets:
    """Company-wide targets; a partner's contract (registry) overrides them per partner."""

    #: Share of policies free of mis-selling signals (source document: at least 98%).
    compliance_rate: float = 0.98
    #: Mean relative deviation of applied from contracted commission (at most 2%).
    contract_deviation: float = 0.02
    #: Share of deadline tasks (callbacks, complaints, claims) done within their target.
    processing_on_time_rate: float = 0.95
    #: Claims paid over premium received.
    loss_ratio: float = 0.7
    #: Share of high and critical alerts responded to within ``response_s`` (source document: 24 h).
    response_rate: float = 1.0
    response_s: float = 24 * HOUR
    #: Rates over fewer policies (tasks, alerts) are shown but not judged against targets.
    min_sample: int = 10

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in KPI_DIRECTION}


@dataclass(frozen=True, slots=True)
class PartnerProfile:
    """What the partner registry knows of a partner (the seam for ``partner.registry``).

    ``targets`` overrides :class:`ScorecardTargets` fields by name, and a task's
    processing target in seconds as ``processing_s:<task>`` (e.g.
    ``processing_s:claim_settlement``); ``status`` is the registry status
    (``active``, ``suspended``, ``blacklisted``, ``terminated``).
    """

    partner_type: str | None = None
    branch_id: str | None = None
    targets: Mapping[str, float] = field(default_factory=dict)
    status: str | None = None


def quarter_of(t: float) -> str:
    d = datetime.fromtimestamp(t, tz=timezone.utc)
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def quarter_bounds(period: str) -> tuple[float, float]:
    """(start, end) epoch seconds of a quarter such as ``2026Q3``; ValueError if malformed."""
    year, sep, q = period.upper().partition("Q")
    if not (sep and year.isdigit() and q in ("1", "2", "3", "4")):
        raise ValueError(f"a period is a calendar quarter such as 2026Q3, got {period!r}")
    first = (int(q) - 1) * 3 + 1
    start = datetime(int(year), first, 1, tzinfo=timezone.utc)
    end = datetime(int(year) + (first == 10), 1 if first == 10 else first + 3, 1, tzinfo=timezone.utc)
    return start.timestamp(), end.timestamp()


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _epoch(value: Any) -> float | None:
    if value is None or isinstance(value, (int, float)):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def new_book() -> dict[str, Any]:
    return {"n": {}, "c": [], "pr": 0.0, "prn": 0, "cp": 0.0, "cmp": {}, "con": {}, "pt": {}, "a": {}}


class ScorecardCore:
    """Folds events and alert records into per-branch state; closes quarters; computes scorecards."""

    def __init__(self, config: DetectorConfig, targets: ScorecardTargets | None = None,
                 profiles: Mapping[str, PartnerProfile] | None = None, close_after_s: float = 2 * DAY,
                 keep_closed_s: float = 100 * DAY, responses_recorded: bool = True) -> None:
        self.targets = targets or ScorecardTargets()
        #: partner id -> registry profile; empty until the registry is wired in.
        self.profiles = profiles if profiles is not None else {}
        #: A quarter closes this long after its end (event time): late events and 24 h responses get in.
        self.close_after_s = close_after_s
        self.keep_closed_s = keep_closed_s
        #: False where no acknowledgement can have been recorded (a history file): the
        #: response figures are then unknown (None), not 0%.
        self.responses_recorded = responses_recorded
        self.compliance = PartnerComplianceDetector(config.partner_compliance)
        self.contract = PartnerContractDetector(config.partner_contract)
        #: The deadline tasks whose processing time is measured: the absence detectors' own clocks.
        self.tasks = [cls(getattr(config, attr)) for cls, attr in REGISTRY.values()
                      if issubclass(cls, DeadlineDetector)]

    # --- routing -------------------------------------------------------------------
    def branch_of(self, branch_id: str | None, partner_id: str | None) -> str | None:
        """The branch whose state holds this event's or alert's figures."""
        profile = self.profiles.get(partner_id) if partner_id else None
        if profile is not None and profile.branch_id:
            return profile.branch_id
        return branch_id

    def route(self, event: Event) -> str | None:
        return self.branch_of(event.branch_id, event.partner_id)

    def _books(self, state: dict, t: float, partner: str | None) -> list[dict] | None:
        q = state["q"].get(quarter_of(t))
        if q is None:
            if t < state["w"] - self.close_after_s - 92 * DAY:
                return None  # a quarter long gone
            q = state["q"][quarter_of(t)] = {"closed": False, "branch": new_book(), "partners": {}}
        books = [q["branch"]]
        if partner:
            books.append(q["partners"].setdefault(partner, new_book()))
        return books

    # --- events --------------------------------------------------------------------
    def observe(self, event: Event, state: dict | None, branch: str) -> dict:
        state = state or {"b": branch, "w": event.time, "t": {}, "q": {}, "r": []}
        state["w"] = max(state["w"], event.time)
        self._task_step(event, state)
        books = self._books(state, event.time, event.partner_id)
        if books is None:
            return state
        kind = event.event_type
        if kind in MONEY:
            if event.event_id in state["r"]:
                return state
            state["r"] = (state["r"] + [event.event_id])[-RECENT_IDS:]
        for book in books:
            if kind == "sale_recorded" and event.policy_id:
                book["n"][event.policy_id] = event.premium or 0.0
                self.compliance.fold(event, book["cmp"])
            elif kind == "complaint_filed" and event.complaint_id:
                if event.complaint_id not in book["c"]:
                    book["c"].append(event.complaint_id)
                if event.policy_id:
                    self.compliance.fold(event, book["cmp"])
            elif kind == "policy_issued" and event.policy_id and event.partner_id:
                self.contract.fold(event, book["con"])
            elif kind in MONEY and event.amount is not None:
                book[MONEY[kind]] = round(book[MONEY[kind]] + event.amount, 2)
                book["prn"] += kind == "premium_paid"
        return state

    def _task_step(self, event: Event, state: dict) -> None:
        for det in self.tasks:
            if event.event_type not in det.event_types:
                continue
            opened = det.opening(event)
            if opened is not None:
                key = f"{det.name}|{opened.episode}"
                due = self._target(det.name, event.partner_id, opened.due_s)
                known = state["t"].get(key)
                if known is None or event.time < known[0]:
                    state["t"][key] = [event.time, event.time + due, event.partner_id, False]
            closed = det.closing(event)
            task = state["t"].get(f"{det.name}|{closed}") if closed is not None else None
            if task is not None and event.time >= task[0]:
                del state["t"][f"{det.name}|{closed}"]
                for book in self._books(state, event.time, task[2]) or ():
                    slot = book["pt"].setdefault(det.name, [0, 0, 0, 0.0, 0.0])
                    slot[2] += 1
                    slot[3] += event.time - task[0]
                    slot[4] += task[1] - task[0]
                    if not task[3]:
                        slot[0] += 1
                        slot[1] += event.time <= task[1]

    def _target(self, task: str, partner: str | None, default: float) -> float:
        profile = self.profiles.get(partner) if partner else None
        if profile is not None and f"processing_s:{task}" in profile.targets:
            return float(profile.targets[f"processing_s:{task}"])
        return default

    # --- alerts --------------------------------------------------------------------
    def alert_route(self, record: Mapping[str, Any]) -> str | None:
        return self.branch_of(record.get("branch_id"), record.get("partner_id"))

    def observe_alert(self, record: Mapping[str, Any], state: dict | None, branch: str) -> dict:
        """Fold one alert record (the topic's JSON form); the latest record of an id wins."""
        first = _epoch(record.get("first_seen")) or _epoch(record["event_time"])
        state = state or {"b": branch, "w": first, "t": {}, "q": {}, "r": []}
        books = self._books(state, first, record.get("partner_id"))
        if books is None:
            return state
        responded = _epoch(record.get("acknowledged_at"))
        if responded is None and record.get("resolution") in ("confirmed", "false_positive"):
            responded = _epoch(record.get("resolved_at"))  # a person's verdict is a response too
        entry = [record["tier"], record["typology"], first, record.get("ack_deadline") is not None,
                 None if responded is None else responded - first, record["entity_type"],
                 record.get("resolution"), record["status"]]
        for book in books:
            old = book["a"].get(record["alert_id"])
            if old is not None:
                entry[3] = entry[3] or old[3]  # once a response was due, it stays due
                if entry[4] is None:
                    entry[4] = old[4]
            book["a"][record["alert_id"]] = list(entry)
        return state

    # --- event time ----------------------------------------------------------------
    def advance(self, state: dict | None, watermark: float) -> tuple[dict | None, list[str]]:
        """Count tasks past their target as late, close quarters whose end is
        ``close_after_s`` behind ``watermark``; returns the quarters closed now."""
        if not state:
            return None, []
        state["w"] = max(state["w"], watermark)
        for key, task in list(state["t"].items()):
            if not task[3] and watermark >= task[1]:
                task[3] = True
                for book in self._books(state, task[1], task[2]) or ():
                    slot = book["pt"].setdefault(key.partition("|")[0], [0, 0, 0, 0.0, 0.0])
                    slot[0] += 1
            if watermark - task[1] > self.keep_closed_s:
                del state["t"][key]  # never completed: forget it
        closed = []
        for period, q in sorted(state["q"].items()):
            end = quarter_bounds(period)[1]
            if not q["closed"] and watermark >= end + self.close_after_s:
                q["closed"] = True
                closed.append(period)
            elif q["closed"] and watermark >= end + self.keep_closed_s:
                del state["q"][period]
        if not state["q"] and not state["t"]:
            return None, closed
        return state, closed

    # --- figures -------------------------------------------------------------------
    def scorecards(self, state: dict | None, periods: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The branch's and its partners' scorecards for ``periods`` (default: every quarter held)."""
        if not state:
            return []
        wanted = set(periods) if periods is not None else None
        out = []
        for period, q in sorted(state["q"].items()):
            if wanted is not None and period not in wanted:
                continue
            out.append(self.scorecard("branch", state["b"], period, q["branch"], state["w"], q["closed"], state["b"]))
            for partner, book in sorted(q["partners"].items()):
                out.append(self.scorecard("partner", partner, period, book, state["w"], q["closed"], state["b"]))
        return out

    def targets_for(self, scope: str, entity: str) -> dict[str, float]:
        targets = self.targets.as_dict()
        profile = self.profiles.get(entity) if scope == "partner" else None
        if profile is not None:
            targets.update({k: float(v) for k, v in profile.targets.items() if k in targets})
        return targets

    def scorecard(self, scope: str, entity: str, period: str, book: dict, watermark: float, final: bool,
                  branch: str) -> dict[str, Any]:
        """One scorecard record, the form published to ``risk.scorecards`` and printed by ``report --json``."""
        t = self.targets
        start, end = quarter_bounds(period)
        policies = len(book["n"])
        premium_written = round(sum(book["n"].values()), 2)
        sold, flagged = compliance_counts(book["cmp"])
        n_con, off, deviation = contract_figures(book["con"], self.contract.config.max_deviation)
        processing = {}
        decided = on_time = 0
        for task, (d, ok, done, total, target_total) in sorted(book["pt"].items()):
            processing[task] = {"decided": d, "on_time": ok, "completed": done,
                                "mean_hours": round(total / done / HOUR, 3) if done else None,
                                "target_hours": round(target_total / done / HOUR, 3) if done else None}
            decided += d
            on_time += ok
        alerts = {tier: 0 for tier in TIERS}
        by_typology: dict[str, int] = {}
        needing = responded = 0
        listed = []
        for aid, (tier, typology, first, needs, response_s, entity_type, resolution, status) in book["a"].items():
            alerts[tier] = alerts.get(tier, 0) + 1
            by_typology[typology] = by_typology.get(typology, 0) + 1
            if needs:
                needing += 1
                responded += response_s is not None and response_s <= t.response_s
            if tier in ("high", "critical"):
                listed.append({"alert_id": aid, "tier": tier, "typology": typology, "entity_type": entity_type,
                               "first_seen": _iso(first), "status": status, "resolution": resolution})
        listed.sort(key=lambda a: (-TIERS.index(a["tier"]), a["first_seen"], a["alert_id"]))
        premium_received = round(book["pr"], 2)
        figures = {
            "compliance_rate": round(1 - flagged / sold, 4) if sold else None,
            "contract_deviation": round(deviation, 4) if n_con else None,
            "processing_on_time_rate": round(on_time / decided, 4) if decided else None,
            "loss_ratio": round(book["cp"] / premium_received, 4) if premium_received > 0 else None,
            "response_rate": round(responded / needing, 4) if needing and self.responses_recorded else None,
        }
        samples = {"compliance_rate": sold, "contract_deviation": n_con, "processing_on_time_rate": decided,
                   # premiums paid; and every alert owed a response counts (the target is every one)
                   "loss_ratio": book["prn"], "response_rate": t.min_sample if needing else 0}
        targets = self.targets_for(scope, entity)
        below = [k for k, higher in KPI_DIRECTION.items()
                 if figures[k] is not None and samples[k] >= t.min_sample
                 and (figures[k] < targets[k] if higher else figures[k] > targets[k])]
        profile = self.profiles.get(entity) if scope == "partner" else None
        return {
            "schema_version": SCHEMA_VERSION, "scope": scope, "id": entity, "branch_id": branch,
            "partner_type": profile.partner_type if profile else None,
            "registry_status": profile.status if profile else None,
            "period": period, "period_start": _iso(start), "period_end": _iso(end), "final": final,
            "as_of": _iso(watermark),
            "policies": policies, "premium_written": premium_written, "premium_received": premium_received,
            "claims_paid": round(book["cp"], 2), "complaints": len(book["c"]),
            "complaints_per_1000_policies": round(1000 * len(book["c"]) / policies, 2) if policies else None,
            "flagged_policies": flagged, "contract_policies": n_con, "off_contract_policies": off,
            **figures,
            "processing": processing,
            "alerts": alerts, "alerts_by_typology": dict(sorted(by_typology.items())),
            "alerts_needing_response": needing,
            "alerts_responded_in_time": responded if self.responses_recorded else None,
            "serious_alerts": listed[:MAX_LISTED_ALERTS],
            "targets": targets, "below_target": below,
        }
