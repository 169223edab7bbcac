"""The alert record published to the alert topic (schema ``alerts/schemas/alert.v1.json``).

One alert id has a lifecycle (``open``, ``acknowledged``, ``escalated``,
``resolved``); each transition, and each update of an open alert by a new
finding, is published as a full record with the same id. The latest record
per id is the alert's state (the compacted alert-state topic keeps it).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

import orjson

from detectors.registry import iso_time  # noqa: F401  (one formatter for alerts and detectors)
from detectors.base import Tier

AlertTier = Tier  # the tier enum is shared with detectors, which propose a tier
SCHEMA_VERSION = 1


class AlertStatus(str, Enum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


def alert_id(detector: str, entity_type: str, entity_id: str, window_start: float) -> str:
    """Deterministic id: the same detector, entity and window give the same id,
    so a replay or a restarted worker re-emits an alert rather than a new one."""
    raw = f"{detector}\x1f{entity_type}\x1f{entity_id}\x1f{window_start:.3f}".encode()
    return hashlib.sha256(raw).hexdigest()[:24]




#: Fields holding epoch seconds, published as ISO-8601 strings.
TIME_FIELDS = ("event_time", "window_start", "emitted_at", "first_seen", "last_seen", "ack_deadline",
               "acknowledged_at", "resolved_at")


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    status: AlertStatus
    tier: AlertTier
    tier_reason: str
    typology: str
    entity_type: str
    entity_id: str
    #: Correlation subject ("customer:C1", "agent:A7"...): alerts of one subject
    #: are tiered together; actions on this alert are keyed by it.
    subject: str
    score: float
    summary: str
    evidence: dict[str, Any]
    detector: str
    detector_version: str
    config_version: str
    #: Event time of the latest triggering event and start of the alert's window (epoch s).
    event_time: float
    window_start: float
    #: Wall-clock time this record was produced (epoch s).
    emitted_at: float
    branch_id: str | None = None
    partner_id: str | None = None
    #: Findings merged into this alert, and the event times of the first and latest.
    count: int = 1
    first_seen: float = 0.0
    last_seen: float = 0.0
    escalation_level: int = 0
    #: Event time by which a high or critical alert must be acknowledged, or None.
    ack_deadline: float | None = None
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None
    resolved_by: str | None = None
    resolved_at: float | None = None
    #: ``condition_cleared``, ``confirmed`` or ``false_positive`` once resolved.
    resolution: str | None = None
    runbook_url: str | None = None
    schema_version: int = field(default=SCHEMA_VERSION)

    @property
    def key(self) -> bytes:
        """Kafka message key: alerts for one entity stay in order on one partition."""
        return f"{self.entity_type}:{self.entity_id}".encode()

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["tier"] = self.tier.value
        data["status"] = self.status.value
        for name in TIME_FIELDS:
            if data[name] is not None:
                data[name] = iso_time(data[name])
        return data

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_state(cls, state: dict[str, Any], emitted_at: float) -> "Alert":
        """Build the record from the alert book's stored form (times in epoch seconds)."""
        values = {f.name: state[f.name] for f in fields(cls) if f.name in state}
        values["tier"] = Tier(state["tier"])
        values["status"] = AlertStatus(state["status"])
        values["emitted_at"] = emitted_at
        return cls(**values)
