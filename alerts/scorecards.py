"""Scorecards: a partner's and a branch's calendar quarter (event time) in figures, against targets.

The one core the worker (:mod:`streams.app`, state in a faust table) and
``riskwatch report`` (:mod:`streams.report`, state in a dict) share. Pure and
clock-free like a detector: state is a JSON value handed in and returned,
event time drives everything, and bad input is the caller's (events come
decoded, alert records as published).

State is kept **per branch**: a branch's keys hold its own scorecard and
those of the partners whose business it books. The partner registry gives
each partner one branch (``PartnerProfile.branch_id``); without it the
event's ``branch_id`` decides. A quarter is a calendar quarter (``2026Q3``,
UTC). The keys (see :class:`ScorecardCore`) keep each write small: counts
and sums per scope and quarter, and what the compliance and contract books
hold per policy, folded by the partner KPI detectors themselves
(:mod:`detectors.partner_kpis`), so the compliance rate and the contract
deviation are computed there, once.

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

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from detectors.absence import DeadlineDetector
from detectors.base import REGISTRY, Tier
from detectors.config import DetectorConfig
from detectors.events import Event
from detectors.partner_kpis import (PartnerComplianceDetector, PartnerContractDetector, compliance_counts,
                                    contract_figures)

if TYPE_CHECKING:  # the engine's store protocol: a dict for ``report``, a faust table in the worker
    from streams.engine import StateStore

SCHEMA_VERSION = 1
HOUR = 3600.0
DAY = 86_400.0
TIERS = [t.value for t in Tier]
#: Payment events folded into the figures, and the field each adds to.
MONEY = {"premium_paid": "pr", "claim_payout": "cp"}
#: Most recent payment and complaint event ids remembered per branch to drop redeliveries
#: (at-least-once delivery repeats recent messages; a sale is deduplicated by its policy).
RECENT_IDS = 256
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


class RegistryProfiles(Mapping[str, PartnerProfile]):
    """The partner registry (:class:`detectors.registry.PartnerRegistry`) seen as profiles:
    type, branch, contracted targets (compliance, processing time per task) and the
    latest status. A live view: the worker's registry follows its global table."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    def __getitem__(self, partner_id: str) -> PartnerProfile:
        record = self.registry.record(partner_id)
        if record is None:
            raise KeyError(partner_id)
        targets: dict[str, float] = {f"processing_s:{task}": s for task, s in record.processing_targets_s.items()}
        if record.compliance_target is not None:
            targets["compliance_rate"] = record.compliance_target
        status = record.status_changes[-1].status if record.status_changes else None
        return PartnerProfile(record.partner_type, record.branch_id, targets, status)

    def __iter__(self):
        return iter(self.registry.partner_ids())

    def __len__(self) -> int:
        return len(self.registry)


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
    """A scope's figures for one quarter: counts and sums, no per-policy data (that has keys of its own)."""
    return {"n": 0, "pw": 0.0, "c": 0, "pr": 0.0, "prn": 0, "cp": 0.0, "sold": 0, "flagged": 0,
            "cn": 0, "coff": 0, "cdev": 0.0, "pt": {}, "a": {}}


class ScorecardCore:
    """Folds events and alert records into a branch's keys; closes quarters; computes scorecards.

    Keys of one branch (so that a write stays small however large the quarter):
    ``<branch>`` (watermark, open tasks, recent payment and complaint ids, quarters and
    their scopes), ``<branch>|<period>|<scope>|<id>`` (a scope's counts and sums) and
    ``<branch>|<period>|<scope>|<id>|<policy>`` (what the compliance and contract books
    hold for one policy, folded by the partner KPI detectors).
    """

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
        """The branch whose keys hold this event's or alert's figures."""
        profile = self.profiles.get(partner_id) if partner_id else None
        if profile is not None and profile.branch_id:
            return profile.branch_id
        return branch_id

    def route(self, event: Event) -> str | None:
        return self.branch_of(event.branch_id, event.partner_id)

    def alert_route(self, record: Mapping[str, Any]) -> str | None:
        return self.branch_of(record.get("branch_id"), record.get("partner_id"))

    @staticmethod
    def branches(store: StateStore) -> list[str]:
        """The branches with scorecard state in ``store``."""
        return [k for k in store.keys() if "|" not in k]

    def _scopes(self, store: StateStore, meta: dict, t: float, partner: str | None) -> list[str] | None:
        """The book keys an item at time ``t`` counts in (branch, and partner if any); None for a quarter gone."""
        period = quarter_of(t)
        scopes = meta["q"].get(period)
        if scopes is None:
            if t < meta["w"] - self.close_after_s - 92 * DAY:
                return None
            scopes = meta["q"][period] = {"closed": False, "scopes": []}
        wanted = [f"branch|{meta['b']}"] + ([f"partner|{partner}"] if partner else [])
        for scope in wanted:
            if scope not in scopes["scopes"]:
                scopes["scopes"].append(scope)
        return [f"{meta['b']}|{period}|{scope}" for scope in wanted]

    @staticmethod
    def _meta(store: StateStore, branch: str, t: float) -> dict:
        return store.get(branch) or {"b": branch, "w": t, "t": {}, "q": {}, "r": []}

    # --- events --------------------------------------------------------------------
    def observe(self, event: Event, store: StateStore, branch: str) -> None:
        meta = self._meta(store, branch, event.time)
        meta["w"] = max(meta["w"], event.time)
        self._task_step(event, store, meta)
        keys = self._scopes(store, meta, event.time, event.partner_id)
        kind = event.event_type
        if keys is not None and kind in (*MONEY, "complaint_filed"):
            if event.event_id in meta["r"]:
                keys = None  # a redelivery
            else:
                meta["r"] = (meta["r"] + [event.event_id])[-RECENT_IDS:]
        store.set(branch, meta)
        for key in keys or ():
            book = store.get(key) or new_book()
            if kind in MONEY and event.amount is not None:
                book[MONEY[kind]] = round(book[MONEY[kind]] + event.amount, 2)
                book["prn"] += kind == "premium_paid"
            elif kind == "complaint_filed":
                book["c"] += 1
            if event.policy_id and kind in ("sale_recorded", "complaint_filed", "policy_issued"):
                self._fold_policy(event, store, f"{key}|{event.policy_id}", book)
            store.set(key, book)

    def _fold_policy(self, event: Event, store: StateStore, key: str, book: dict) -> None:
        """Fold into one policy's entries with the detectors' own ``fold``; the book's counts
        move by the difference the policy's figures make (``compliance_counts``, ``contract_figures``)."""
        policy = store.get(key) or {"sale": None, "cmp": None, "con": None}
        pid = event.policy_id
        if event.event_type == "sale_recorded" and policy["sale"] is None:
            policy["sale"] = event.premium or 0.0
            book["n"] += 1
            book["pw"] = round(book["pw"] + policy["sale"], 2)
        if event.event_type in ("sale_recorded", "complaint_filed"):
            before = {pid: policy["cmp"]} if policy["cmp"] else {}
            after = copy.deepcopy(before)
            if self.compliance.fold(event, after):
                (sold0, flagged0), (sold1, flagged1) = compliance_counts(before), compliance_counts(after)
                book["sold"] += sold1 - sold0
                book["flagged"] += flagged1 - flagged0
                policy["cmp"] = after[pid]
        elif event.event_type == "policy_issued" and event.partner_id:
            before = {pid: policy["con"]} if policy["con"] else {}
            after = copy.deepcopy(before)
            if self.contract.fold(event, after):
                limit = self.contract.config.max_deviation
                n0, off0, dev0 = contract_figures(before, limit)
                n1, off1, dev1 = contract_figures(after, limit)
                book["cn"] += n1 - n0
                book["coff"] += off1 - off0
                book["cdev"] += dev1 * n1 - dev0 * n0
                policy["con"] = after[pid]
        store.set(key, policy)

    def _task_step(self, event: Event, store: StateStore, meta: dict) -> None:
        for det in self.tasks:
            if event.event_type not in det.event_types:
                continue
            opened = det.opening(event)
            if opened is not None:
                key = f"{det.name}|{opened.episode}"
                due = self._target(det.name, event.partner_id, opened.due_s)
                known = meta["t"].get(key)
                if known is None or event.time < known[0]:
                    meta["t"][key] = [event.time, event.time + due, event.partner_id, False]
            closed = det.closing(event)
            task = meta["t"].get(f"{det.name}|{closed}") if closed is not None else None
            if task is not None and event.time >= task[0]:
                del meta["t"][f"{det.name}|{closed}"]
                for key in self._scopes(store, meta, event.time, task[2]) or ():
                    book = store.get(key) or new_book()
                    slot = book["pt"].setdefault(det.name, [0, 0, 0, 0.0, 0.0])
                    slot[2] += 1
                    slot[3] += event.time - task[0]
                    slot[4] += task[1] - task[0]
                    if not task[3]:
                        slot[0] += 1
                        slot[1] += event.time <= task[1]
                    store.set(key, book)

    def _target(self, task: str, partner: str | None, default: float) -> float:
        profile = self.profiles.get(partner) if partner else None
        if profile is not None and f"processing_s:{task}" in profile.targets:
            return float(profile.targets[f"processing_s:{task}"])
        return default

    # --- alerts --------------------------------------------------------------------
    def observe_alert(self, record: Mapping[str, Any], store: StateStore, branch: str) -> None:
        """Fold one alert record (the topic's JSON form); the latest record of an id wins."""
        first = _epoch(record.get("first_seen")) or _epoch(record["event_time"])
        meta = self._meta(store, branch, first)
        keys = self._scopes(store, meta, first, record.get("partner_id"))
        store.set(branch, meta)
        responded = _epoch(record.get("acknowledged_at"))
        if responded is None and record.get("resolution") in ("confirmed", "false_positive"):
            responded = _epoch(record.get("resolved_at"))  # a person's verdict is a response too
        entry = [record["tier"], record["typology"], first, record.get("ack_deadline") is not None,
                 None if responded is None else responded - first, record["entity_type"],
                 record.get("resolution"), record["status"]]
        for key in keys or ():
            book = store.get(key) or new_book()
            old = book["a"].get(record["alert_id"])
            if old is not None:
                entry[3] = entry[3] or old[3]  # once a response was due, it stays due
                if entry[4] is None:
                    entry[4] = old[4]
            book["a"][record["alert_id"]] = list(entry)
            store.set(key, book)

    # --- event time ----------------------------------------------------------------
    def advance(self, store: StateStore, branch: str, watermark: float) -> list[str]:
        """Count tasks past their target as late, close quarters whose end is
        ``close_after_s`` behind ``watermark``, forget quarters long closed;
        returns the quarters closed now."""
        meta = store.get(branch)
        if not meta:
            return []
        meta["w"] = max(meta["w"], watermark)
        for key, task in list(meta["t"].items()):
            if not task[3] and watermark >= task[1]:
                task[3] = True
                for book_key in self._scopes(store, meta, task[1], task[2]) or ():
                    book = store.get(book_key) or new_book()
                    book["pt"].setdefault(key.partition("|")[0], [0, 0, 0, 0.0, 0.0])[0] += 1
                    store.set(book_key, book)
            if watermark - task[1] > self.keep_closed_s:
                del meta["t"][key]  # never completed: forget it
        closed, gone = [], []
        for period, q in sorted(meta["q"].items()):
            end = quarter_bounds(period)[1]
            if not q["closed"] and watermark >= end + self.close_after_s:
                q["closed"] = True
                closed.append(period)
            elif q["closed"] and watermark >= end + self.keep_closed_s:
                gone.append(f"{branch}|{period}|")
                del meta["q"][period]
        if gone:
            for key in [k for k in store.keys() if k.startswith(tuple(gone))]:
                store.delete(key)
        if not meta["q"] and not meta["t"]:
            store.delete(branch)
        else:
            store.set(branch, meta)
        return closed

    # --- figures -------------------------------------------------------------------
    def scorecards(self, store: StateStore, branch: str, periods: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The branch's and its partners' scorecards for ``periods`` (default: every quarter held)."""
        meta = store.get(branch)
        if not meta:
            return []
        wanted = set(periods) if periods is not None else None
        out = []
        for period, q in sorted(meta["q"].items()):
            if wanted is not None and period not in wanted:
                continue
            for scope_key in sorted(q["scopes"], key=lambda s: (s != f"branch|{branch}", s)):
                scope, _, entity = scope_key.partition("|")
                book = store.get(f"{branch}|{period}|{scope_key}") or new_book()
                out.append(self.scorecard(scope, entity, period, book, meta["w"], q["closed"], branch))
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
        policies, sold, flagged, n_con = book["n"], book["sold"], book["flagged"], book["cn"]
        deviation = book["cdev"] / n_con if n_con else 0.0
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
            "policies": policies, "premium_written": round(book["pw"], 2), "premium_received": premium_received,
            "claims_paid": round(book["cp"], 2), "complaints": book["c"],
            "complaints_per_1000_policies": round(1000 * book["c"] / policies, 2) if policies else None,
            "flagged_policies": flagged, "contract_policies": n_con, "off_contract_policies": book["coff"],
            **figures,
            "processing": processing,
            "alerts": alerts, "alerts_by_typology": dict(sorted(by_typology.items())),
            "alerts_needing_response": needing,
            "alerts_responded_in_time": responded if self.responses_recorded else None,
            "serious_alerts": listed[:MAX_LISTED_ALERTS],
            "targets": targets, "below_target": below,
        }
