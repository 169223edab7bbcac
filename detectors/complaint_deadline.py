"""Complaint handling deadline: a complaint not resolved in time (an absence, like the callback).

The regulator's rule for insurance consumer complaints is a decision within
15 days of acceptance, so that is the default deadline. The complaint system
knows better for a given complaint: ``complaint_filed`` may carry
``deadline_hours`` (validated by the schema), which it sets for fast-track
complaints (a small claim, a complaint escalated by the regulator's hotline:
24 h or less) or for an agreed extension; ``deadline_by_category_s`` sets a
deadline per complaint category where the event carries none. Precedence: the
event's ``deadline_hours`` (unless ``use_event_deadline`` is off), then the
category's deadline, then ``default_deadline_s``.

A complaint with no ``complaint_resolved`` at its deadline (event time) raises
``complaint_overdue`` on the complaint: medium, high for the categories in
``high_categories`` (mis-selling by default). Timers and late resolutions are
handled by :mod:`detectors.absence`; a resolution exactly at the deadline is in
time. State is kept per complaint.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from detectors.absence import DAY, HOUR, DeadlineDetector, Opening, event_ids
from detectors.base import Finding, Tier, register
from detectors.events import Event

TYPOLOGY = "complaint_overdue"


@dataclass(frozen=True, slots=True)
class ComplaintDeadlineConfig:
    #: The regulatory handling deadline: 15 days from filing.
    default_deadline_s: float = 15 * DAY
    #: Deadline per complaint category (seconds) where the event carries none.
    deadline_by_category_s: dict[str, float] = field(default_factory=dict)
    #: Honour the ``deadline_hours`` the complaint system puts on ``complaint_filed``.
    use_event_deadline: bool = True
    tier: str = Tier.MEDIUM.value
    #: Categories whose overdue complaints are high.
    high_categories: list[str] = field(default_factory=lambda: ["mis_selling"])
    #: How long a decided complaint is remembered (duplicate deliveries).
    retention_s: float = 7 * DAY

    def __post_init__(self) -> None:
        for category, seconds in self.deadline_by_category_s.items():
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
                raise ValueError(f"deadline_by_category_s[{category!r}] must be a positive number of seconds")
        object.__setattr__(self, "deadline_by_category_s",
                           {c: float(s) for c, s in self.deadline_by_category_s.items()})
        if self.default_deadline_s <= 0 or self.retention_s <= 0:
            raise ValueError("default_deadline_s and retention_s must be positive")
        Tier(self.tier)


@register("complaint_deadline")
class ComplaintDeadlineDetector(DeadlineDetector):
    """Flags a complaint still unresolved at its handling deadline; state is kept per complaint.

    >>> from detectors.events import Event
    >>> d = ComplaintDeadlineDetector(ComplaintDeadlineConfig())
    >>> filed = Event("e1", "complaint_filed", "complaint", 0.0, complaint_id="K1", agent_id="A1",
    ...               category="billing", deadline_hours=24.0)
    >>> state, _ = d.observe(filed, None)
    >>> resolved = Event("e2", "complaint_resolved", "complaint", 23.9 * 3600, complaint_id="K1")
    >>> d.observe(resolved, state)[1], d.advance(state, 30 * 86_400.0)
    ([], (None, []))
    """

    name = "complaint_deadline"
    version = "1"
    event_types = frozenset({"complaint_filed", "complaint_resolved"})
    keyspace = "complaint"
    typology = TYPOLOGY

    def key(self, event: Event) -> str | None:
        return event.complaint_id

    def deadline_s(self, event: Event) -> tuple[float, str]:
        """The handling deadline of a filed complaint (seconds after filing) and where it came from."""
        cfg = self.config
        if cfg.use_event_deadline and event.deadline_hours is not None:
            return event.deadline_hours * HOUR, "complaint system"
        if event.category in cfg.deadline_by_category_s:
            return cfg.deadline_by_category_s[event.category], f"category {event.category}"
        return cfg.default_deadline_s, "default"

    def opening(self, event: Event) -> Opening | None:
        if event.event_type != "complaint_filed" or event.complaint_id is None:
            return None
        seconds, source = self.deadline_s(event)
        return Opening(event.complaint_id, seconds, {
            "category": event.category, "deadline_source": source, "agent_id": event.agent_id,
            "branch_id": event.branch_id, "partner_id": event.partner_id, "product_id": event.product_id,
            "policy_id": event.policy_id, "customer_id": event.customer_id})

    def closing(self, event: Event) -> str | None:
        return event.complaint_id if event.event_type == "complaint_resolved" else None

    def overdue(self, entity: str, episode_id: str, episode: dict, event_time: float,
                trigger: Event | None) -> Finding:
        cfg = self.config
        info = episode["x"]
        hours = (episode["d"] - episode["o"]) / HOUR
        high = info.get("category") in cfg.high_categories
        resolved = episode["c"]
        what = f"resolved {(resolved - episode['o']) / HOUR:.1f} h after filing" if resolved is not None \
            else "not resolved"
        return Finding(
            detector=self.name,
            detector_version=self.version,
            typology=TYPOLOGY,
            tier=Tier.HIGH if high else Tier(cfg.tier),
            tier_reason=(f"{info.get('category')} complaint past its handling deadline" if high
                         else "complaint past its handling deadline"),
            entity_type="complaint",
            entity_id=entity,
            window_start=episode["o"],
            event_time=event_time,
            score=round(max(event_time - episode["o"], 0.0) / max(episode["d"] - episode["o"], 1.0), 4),
            summary=f"complaint {entity} ({info.get('category')}, agent {info.get('agent_id')}): {what}, "
                    f"deadline {hours:.0f} h ({info.get('deadline_source')})",
            evidence={"filed_at": episode["o"], "deadline": episode["d"], "deadline_hours": round(hours, 3),
                      "resolved_at": resolved, **info, "event_ids": event_ids(episode, trigger)},
            branch_id=info.get("branch_id"),
            partner_id=info.get("partner_id"),
        )
