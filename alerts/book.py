"""The alert book: findings and actions in, alert records out, per correlation subject.

Pure and clock-free like a detector: state is a JSON-serialisable value per
subject, handed in and returned, so the worker (a faust table), ``replay`` (a
dict) and the tests manage it the same way. Event time drives everything:
deadlines and clearing fire from :meth:`AlertBook.advance`.

Tier policy (documented in README, "Alert tiers"):

1. Start from the tier the detector's rule proposes, with its reason.
2. If the subject already has ``repeat_alerts - 1`` other alerts of the same
   typology within ``correlation_window_s``, raise one tier ("3rd structuring
   alert on customer:C1 within 7 d").
3. If the subject has alerts of at least ``combined_typologies`` typologies
   (this one included) within the window, raise one tier ("also
   third_party_payer on customer:C1"). Raises add up and stop at critical.

A finding whose alert id is already open updates that alert (count, last
seen, evidence, tier never lowered) instead of opening another.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alerts.model import Alert, AlertStatus, alert_id
from alerts.policy import AlertPolicyConfig
from detectors.base import Finding, Tier, earliest

State = dict[str, Any] | None
_TIERS = [Tier.LOW, Tier.MEDIUM, Tier.HIGH, Tier.CRITICAL]
#: Entity types whose findings carry a customer: those correlate on the customer.
_CUSTOMER_LINKED = ("account", "policy", "customer")


@dataclass(frozen=True, slots=True)
class Disposition:
    """A person's verdict on an alert, fed back to metrics and to the agent integrity score."""

    alert_id: str
    detector: str
    typology: str
    disposition: str  # confirmed | false_positive
    agent_id: str | None
    #: When the verdict was given (epoch seconds, the action's ``at``).
    at: float
    #: The alert's branch and tier (the branch accountability rule counts confirmed critical findings).
    branch_id: str | None = None
    tier: str | None = None


@dataclass
class Outcome:
    """What one step of the book produced, for the shell to publish and count."""

    records: list[Alert] = field(default_factory=list)
    #: Findings swallowed by an active suppression.
    suppressed: list[tuple[str, str]] = field(default_factory=list)  # (detector, typology)
    #: Dispositions recorded by ``resolve`` actions.
    dispositions: list["Disposition"] = field(default_factory=list)
    #: Open alerts moving between tiers: (from, to), None for "not open" (opened, raised, resolved).
    tier_moves: list[tuple[str | None, str | None]] = field(default_factory=list)

    def extend(self, other: "Outcome") -> None:
        self.records.extend(other.records)
        self.suppressed.extend(other.suppressed)
        self.dispositions.extend(other.dispositions)
        self.tier_moves.extend(other.tier_moves)


def subject_of(finding: Finding) -> str:
    """The correlation subject: the customer behind an account, policy or
    customer finding when the evidence names one, else the agent named in the
    evidence, else the finding's own entity."""
    evidence = finding.evidence
    customer = evidence.get("customer_id")
    if finding.entity_type == "customer":
        return f"customer:{finding.entity_id}"
    if customer and finding.entity_type in _CUSTOMER_LINKED:
        return f"customer:{customer}"
    agent = evidence.get("agent_id")
    if finding.entity_type == "policy" and agent:
        return f"agent:{agent}"
    return f"{finding.entity_type}:{finding.entity_id}"


def _raise(tier: Tier, steps: int) -> Tier:
    return _TIERS[min(len(_TIERS) - 1, tier.rank + steps)]


class AlertBook:
    def __init__(self, config: AlertPolicyConfig, config_version: str, clock: Callable[[], float],
                 runbook_url: Callable[[str], str | None] = lambda typology: None) -> None:
        self.config = config
        self.config_version = config_version
        self.clock = clock
        self.runbook_url = runbook_url

    # --- findings ------------------------------------------------------------------
    def on_finding(self, finding: Finding, state: State) -> tuple[State, Outcome]:
        state = state or {"alerts": {}, "recent": [], "supp": []}
        out = Outcome()
        if self._suppressed(finding, state):
            out.suppressed.append((finding.detector, finding.typology))
            return state, out
        aid = alert_id(finding.detector, finding.entity_type, finding.entity_id, finding.window_start)
        existing = state["alerts"].get(aid)
        if existing is not None:
            before = existing["tier"]
            if existing["status"] != AlertStatus.RESOLVED.value and self._update(existing, finding):
                out.records.append(self._record(existing))
                if existing["tier"] != before:
                    out.tier_moves.append((before, existing["tier"]))
            return state, out
        tier, reasons = self._tier(finding, aid, state)
        alert = self._open(aid, finding, tier, reasons, state)
        state["alerts"][aid] = alert
        state["recent"].append([finding.event_time, finding.typology, aid])
        out.records.append(self._record(alert))
        out.tier_moves.append((None, alert["tier"]))
        return state, out

    def _tier(self, finding: Finding, aid: str, state: dict) -> tuple[Tier, list[str]]:
        cfg = self.config
        reasons = [f"{finding.typology}: {finding.tier_reason}"]
        horizon = finding.event_time - cfg.correlation_window_s
        recent = [r for r in state["recent"] if r[0] >= horizon and r[2] != aid]
        steps = 0
        days = cfg.correlation_window_s / 86_400
        same = len({r[2] for r in recent if r[1] == finding.typology}) + 1
        subject = subject_of(finding)
        if same >= cfg.repeat_alerts:
            steps += 1
            reasons.append(f"raised: alert no. {same} of {finding.typology} on {subject} within {days:g} d")
        others = sorted({r[1] for r in recent if r[1] != finding.typology})
        if len(others) + 1 >= cfg.combined_typologies:
            steps += 1
            reasons.append(f"raised: also {', '.join(others)} on {subject} within {days:g} d")
        return _raise(finding.tier, steps), reasons

    def _open(self, aid: str, finding: Finding, tier: Tier, reasons: list[str], state: dict) -> dict:
        evidence = dict(finding.evidence)
        pending = self._take_expired_suppression(finding, state)
        if pending is not None:
            evidence["suppressed"] = pending
        deadline = self.config.ack_deadline_s.get(tier.value)
        return {
            "alert_id": aid, "status": AlertStatus.OPEN.value, "tier": tier.value, "tier_reason": "; ".join(reasons),
            "typology": finding.typology, "entity_type": finding.entity_type, "entity_id": finding.entity_id,
            "subject": subject_of(finding), "score": round(finding.score, 6), "summary": finding.summary,
            "evidence": evidence, "detector": finding.detector, "detector_version": finding.detector_version,
            "config_version": self.config_version, "event_time": finding.event_time,
            "window_start": finding.window_start, "branch_id": finding.branch_id, "partner_id": finding.partner_id,
            "count": 1, "first_seen": finding.event_time, "last_seen": finding.event_time, "escalation_level": 0,
            "ack_deadline": None if deadline is None else finding.event_time + deadline,
            "runbook_url": self.runbook_url(finding.typology),
        }

    def _update(self, alert: dict, finding: Finding) -> bool:
        """Merge a finding into an open alert; False if it brings nothing new (a re-delivery)."""
        known = alert["evidence"].get("event_ids", [])
        new_ids = [e for e in finding.evidence.get("event_ids", []) if e not in set(known)]
        higher = finding.tier.rank > Tier(alert["tier"]).rank
        if not new_ids and not higher:
            return False
        alert["count"] += 1
        alert["last_seen"] = max(alert["last_seen"], finding.event_time)
        alert["event_time"] = max(alert["event_time"], finding.event_time)
        alert["summary"] = finding.summary
        alert["score"] = round(max(alert["score"], finding.score), 6)
        evidence = {**alert["evidence"], **finding.evidence}
        evidence["event_ids"] = (known + new_ids)[-self.config.max_event_ids:]
        alert["evidence"] = evidence
        if higher:
            alert["tier"] = finding.tier.value
            alert["tier_reason"] += f"; raised to {finding.tier.value}: {finding.tier_reason}"
            deadline = self.config.ack_deadline_s.get(finding.tier.value)
            if deadline is not None and alert["status"] != AlertStatus.ACKNOWLEDGED.value:
                candidate = finding.event_time + deadline
                alert["ack_deadline"] = candidate if alert["ack_deadline"] is None else min(alert["ack_deadline"], candidate)
        return True

    # --- suppressions ------------------------------------------------------------------
    @staticmethod
    def _matches(s: dict, finding: Finding) -> bool:
        return (s["entity_type"], s["entity_id"], s["typology"]) == (finding.entity_type, finding.entity_id,
                                                                     finding.typology)

    def _suppressed(self, finding: Finding, state: dict) -> bool:
        for s in state["supp"]:
            if self._matches(s, finding) and finding.event_time < s["until"]:
                s["count"] += 1
                ids = s["event_ids"] + [e for e in finding.evidence.get("event_ids", []) if e not in s["event_ids"]]
                s["event_ids"] = ids[-self.config.max_event_ids:]
                return True
        return False

    def _take_expired_suppression(self, finding: Finding, state: dict) -> dict | None:
        for s in state["supp"]:
            if self._matches(s, finding) and finding.event_time >= s["until"] and s["count"]:
                state["supp"].remove(s)
                return {"count": s["count"], "event_ids": s["event_ids"], "until": s["until"],
                        "reason": s["reason"], "who": s["who"]}
        return None

    # --- actions -------------------------------------------------------------------
    def on_action(self, action: dict, state: State) -> tuple[State, Outcome]:
        """Apply a validated action (see :mod:`alerts.actions`); unknown alert ids are ignored."""
        state = state or {"alerts": {}, "recent": [], "supp": []}
        out = Outcome()
        kind = action["action"]
        if kind == "suppress":
            state["supp"].append({"entity_type": action["entity_type"], "entity_id": action["entity_id"],
                                  "typology": action["typology"], "until": action["until"],
                                  "reason": action["reason"], "who": action["who"], "count": 0, "event_ids": []})
            return state, out
        alert = state["alerts"].get(action["alert_id"])
        if alert is None or alert["status"] == AlertStatus.RESOLVED.value:
            return state, out
        if kind == "ack":
            if alert["status"] == AlertStatus.ACKNOWLEDGED.value:
                return state, out
            alert.update(status=AlertStatus.ACKNOWLEDGED.value, acknowledged_by=action["who"],
                         acknowledged_at=action["at"])
        else:  # resolve
            alert.update(status=AlertStatus.RESOLVED.value, resolved_by=action["who"], resolved_at=action["at"],
                         resolution=action["disposition"])
            agent = alert["entity_id"] if alert["entity_type"] == "agent" else alert["evidence"].get("agent_id")
            out.dispositions.append(Disposition(alert["alert_id"], alert["detector"], alert["typology"],
                                                action["disposition"], agent, action["at"],
                                                alert.get("branch_id"), alert["tier"]))
            out.tier_moves.append((alert["tier"], None))
        out.records.append(self._record(alert))
        return state, out

    # --- event time --------------------------------------------------------------------
    def advance(self, state: State, watermark: float) -> tuple[State, Outcome]:
        """Escalate overdue alerts, resolve cleared ones, forget what is past retention."""
        out = Outcome()
        if not state:
            return None, out
        cfg = self.config
        for alert in state["alerts"].values():
            status = alert["status"]
            if status == AlertStatus.RESOLVED.value:
                continue
            if (status in (AlertStatus.OPEN.value, AlertStatus.ESCALATED.value) and alert["ack_deadline"] is not None
                    and watermark >= alert["ack_deadline"]):
                alert["status"] = AlertStatus.ESCALATED.value
                alert["escalation_level"] += 1
                alert["ack_deadline"] = watermark + cfg.ack_deadline_s.get(alert["tier"], cfg.clear_after_s)
                out.records.append(self._record(alert))
            if watermark - alert["last_seen"] >= cfg.clear_after_s:
                alert.update(status=AlertStatus.RESOLVED.value, resolved_at=watermark, resolution="condition_cleared",
                             resolved_by="riskwatch")
                out.records.append(self._record(alert))
                out.tier_moves.append((alert["tier"], None))
        state["alerts"] = {k: a for k, a in state["alerts"].items()
                           if not (a["status"] == AlertStatus.RESOLVED.value
                                   and watermark - a["resolved_at"] > cfg.retention_s)}
        state["recent"] = [r for r in state["recent"] if watermark - r[0] <= cfg.correlation_window_s]
        state["supp"] = [s for s in state["supp"] if watermark - s["until"] <= cfg.retention_s]
        if not state["alerts"] and not state["recent"] and not state["supp"]:
            return None, out
        return state, out

    def due(self, state: State) -> float:
        """The lowest watermark at which :meth:`advance` may change ``state`` (as
        :meth:`detectors.base.Detector.due`): a deadline, a clearing, or something to forget."""
        cfg = self.config
        times: list[float] = []
        for alert in state["alerts"].values():
            if alert["status"] == AlertStatus.RESOLVED.value:
                times.append(alert["resolved_at"] + cfg.retention_s)
                continue
            if alert["status"] in (AlertStatus.OPEN.value, AlertStatus.ESCALATED.value) \
                    and alert["ack_deadline"] is not None:
                times.append(alert["ack_deadline"])
            times.append(alert["last_seen"] + cfg.clear_after_s)
        return earliest(times, (r[0] + cfg.correlation_window_s for r in state["recent"]),
                        (s["until"] + cfg.retention_s for s in state["supp"]))

    def _record(self, alert: dict) -> Alert:
        return Alert.from_state(alert, emitted_at=self.clock())
