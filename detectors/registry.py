"""The partner registry: who each outsourcing partner is, what it signed, and
whether it may do business, at any event time.

A registry record is the partner's whole current record (the topic
``partner.registry`` is compacted and keyed by partner id, so the latest
record of a partner *is* the registry's entry for it): its type and branch,
the date its qualification runs out, its contract terms, and every status
change with its reason and effective time. A status change takes effect for
events at or after its effective time and not before, whenever the record
arrives: a sale at 10:59 through a partner blacklisted from 11:00 is
business as usual, one at 11:00 is not.

Pure and clock-free like a detector: :class:`PartnerRegistry` holds records
in a mapping it is given (a dict for ``replay``, a view over the worker's
global table), and :meth:`PartnerRegistry.standing` answers "how did this
partner stand at time T". The engine attaches that :class:`PartnerStanding`
to every event that names a partner (``Event.partner``), so detectors read it
from the event and stay pure.
"""
from __future__ import annotations

import bisect
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

PARTNER_TYPES = ("agency", "bancassurance", "claims_adjuster", "call_centre")
STATUSES = ("active", "suspended", "blacklisted", "terminated")
#: Statuses under which a partner may not do business.
BARRED_STATUSES = frozenset({"suspended", "blacklisted", "terminated"})
#: Tasks whose processing time a contract may set a target for: from the event
#: that opens the task to the one that closes it (both naming the partner).
TASK_TYPES = ("policy_issuance", "claim_settlement")


def iso_time(epoch_s: float) -> str:
    """Epoch seconds as an ISO-8601 UTC timestamp with milliseconds (as alerts show times)."""
    return datetime.fromtimestamp(epoch_s, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class StatusChange:
    status: str
    #: Why, in the registry's words (no personal data).
    reason: str
    #: Epoch seconds from which the status holds.
    effective_time: float


@dataclass(frozen=True, slots=True)
class PartnerStanding:
    """The partner as it stood at one event's time: what detectors read from ``Event.partner``."""

    partner_type: str
    branch_id: str
    #: ``None`` before the partner's first status change (not yet admitted).
    status: str | None = None
    status_reason: str | None = None
    #: Effective time of the status in force (epoch seconds).
    status_since: float | None = None
    qualification_valid_until: float | None = None
    #: Task type -> contracted processing-time target, seconds.
    processing_targets_s: dict[str, float] = field(default_factory=dict)

    @property
    def barred(self) -> bool:
        return self.status in BARRED_STATUSES

    def qualification_expired(self, at: float) -> bool:
        return self.qualification_valid_until is not None and at > self.qualification_valid_until

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PartnerStanding":
        return cls(**data)


@dataclass(frozen=True, slots=True)
class PartnerRecord:
    """One partner's registry entry (validated by :mod:`streams.partner_codec`)."""

    partner_id: str
    partner_type: str
    branch_id: str
    qualification_valid_until: float | None = None
    processing_targets_s: dict[str, float] = field(default_factory=dict)
    #: Share of policies without a mis-selling signal the contract requires (e.g. 0.98).
    compliance_target: float | None = None
    expected_monthly_volume: int | None = None
    #: Sorted by effective time (ties: the order in the record).
    status_changes: tuple[StatusChange, ...] = ()

    def status_at(self, at: float) -> StatusChange | None:
        """The status change in force at ``at`` (the latest effective at or before it)."""
        index = bisect.bisect_right([c.effective_time for c in self.status_changes], at)
        return self.status_changes[index - 1] if index else None

    def standing(self, at: float) -> PartnerStanding:
        change = self.status_at(at)
        return PartnerStanding(
            partner_type=self.partner_type, branch_id=self.branch_id,
            status=change.status if change else None, status_reason=change.reason if change else None,
            status_since=change.effective_time if change else None,
            qualification_valid_until=self.qualification_valid_until,
            processing_targets_s=dict(self.processing_targets_s))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, the form the worker's registry table stores."""
        data = asdict(self)
        data["status_changes"] = [asdict(c) for c in self.status_changes]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PartnerRecord":
        """Rebuild a record :meth:`to_dict` produced (no validation)."""
        changes = tuple(StatusChange(**c) for c in data.get("status_changes", ()))
        return cls(**{**data, "status_changes": changes})


class PartnerRegistry:
    """Partner id -> :class:`PartnerRecord`; a new record of a partner replaces the old one.

    ``records`` is any mutable mapping (default: a dict); the worker passes a
    view over its global table.

    >>> registry = PartnerRegistry()
    >>> registry.apply(PartnerRecord("PT1", "agency", "BR1", status_changes=(
    ...     StatusChange("active", "admitted", 0.0), StatusChange("blacklisted", "forged documents", 3600.0))))
    >>> registry.standing("PT1", 3599.0).status, registry.standing("PT1", 3600.0).status
    ('active', 'blacklisted')
    >>> registry.standing("PT9", 0.0) is None  # not in the registry
    True
    """

    def __init__(self, records: MutableMapping[str, PartnerRecord] | None = None) -> None:
        self.records = {} if records is None else records

    def apply(self, record: PartnerRecord) -> None:
        self.records[record.partner_id] = record

    def record(self, partner_id: str) -> PartnerRecord | None:
        return self.records.get(partner_id)

    def standing(self, partner_id: str, at: float) -> PartnerStanding | None:
        """How ``partner_id`` stood at event time ``at``, or None when the registry does not know it."""
        record = self.record(partner_id)
        return None if record is None else record.standing(at)

    def partner_ids(self) -> list[str]:
        return list(self.records)

    def __len__(self) -> int:
        return len(self.records)
