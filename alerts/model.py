"""The alert record published to the alert topic (schema ``alerts/schemas/alert.v1.json``)."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson

from detectors.base import Tier

AlertTier = Tier  # the tier enum is shared with detectors, which propose a tier
SCHEMA_VERSION = 1


def alert_id(detector: str, entity_type: str, entity_id: str, window_start: float) -> str:
    """Deterministic id: the same detector, entity and window give the same id,
    so a replay or a restarted worker re-emits an alert rather than a new one."""
    raw = f"{detector}\x1f{entity_type}\x1f{entity_id}\x1f{window_start:.3f}".encode()
    return hashlib.sha256(raw).hexdigest()[:24]


def iso_time(epoch_s: float) -> str:
    """Epoch seconds as an ISO-8601 UTC timestamp with milliseconds."""
    return datetime.fromtimestamp(epoch_s, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    status: str
    tier: AlertTier
    tier_reason: str
    typology: str
    entity_type: str
    entity_id: str
    score: float
    summary: str
    evidence: dict[str, Any]
    detector: str
    detector_version: str
    config_version: str
    #: Event time of the triggering event and start of the alert's window (epoch s).
    event_time: float
    window_start: float
    #: Wall-clock time the alert was produced (epoch s).
    emitted_at: float
    branch_id: str | None = None
    partner_id: str | None = None
    schema_version: int = field(default=SCHEMA_VERSION)

    @property
    def key(self) -> bytes:
        """Kafka message key: alerts for one entity stay in order on one partition."""
        return f"{self.entity_type}:{self.entity_id}".encode()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tier"] = self.tier.value
        data["event_time"] = iso_time(self.event_time)
        data["window_start"] = iso_time(self.window_start)
        data["emitted_at"] = iso_time(self.emitted_at)
        return data

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())
