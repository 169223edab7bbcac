"""The generator's public records and the event log that builds them.

Times inside the generator are integer milliseconds since the Unix epoch (UTC):
they format to ISO-8601 exactly and decode (``streams.codec``) back to the
same float seconds that :class:`TruthRecord` reports, so a test can compare an
alert's event time with a truth window without rounding slack.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime
from dataclasses import dataclass, field
from random import Random
from typing import Any

from streams.schemas import SCHEMA_VERSION, STREAM_OF_EVENT_TYPE

#: 2026-01-05T00:00:00Z (a Monday, 08:00 in Beijing): the default start of file output.
DEFAULT_START = 1_767_571_200.0

#: The typologies the generator can inject, named as the detectors name them.
SCENARIO_TYPOLOGIES: tuple[str, ...] = (
    "misleading_sales_phrase", "structuring", "complaint_spike",
    # mis-selling: streams/generator/mis_selling.py
    "unsuitable_risk_level", "elderly_unsuitable_product", "premium_unaffordable", "agent_outlier_cooling_off",
    "agent_outlier_surrender", "agent_outlier_callback_failure", "agent_outlier_complaints",
    "integrity_below_threshold", "churning",
    # partner scorecards: streams/generator/partner_scorecards.py (before the other partner scenarios:
    # each takes a partner no scenario has touched, and sets it aside from the others)
    "partner_outlier_complaints", "partner_outlier_cooling_off", "partner_outlier_processing_time",
    "partner_outlier_loss_ratio",
    # service quality and partners: streams/generator/service.py (the region comparison before the
    # claim targets, so late claims of those scenarios can be kept in the regions already out of line)
    "callback_failed", "callback_missing", "complaint_overdue", "mis_selling_complaint",
    "complaint_spike_branch", "complaint_spike_product", "complaint_spike_partner",
    "partner_compliance_rate", "partner_contract_deviation",
    "region_claims_outlier", "claim_settlement_late", "claim_contact_late",
    # unusual fund flows: streams/generator/fund_flows.py
    "third_party_payer", "multiple_payers", "rapid_in_out", "fan_out", "fan_in", "amount_anomaly",
    "claim_payee_mismatch", "early_claim", "round_tripping",
    # the partner registry: streams/generator/partner_registry.py
    "partner_barred_business", "partner_qualification_expired", "branch_accountability",
)

#: Scenarios injected per typology when the caller does not say (about 10k events).
DEFAULT_SCENARIO_MIX: dict[str, int] = {
    "misleading_sales_phrase": 3, "structuring": 3, "complaint_spike": 3,
    "unsuitable_risk_level": 3, "elderly_unsuitable_product": 3, "premium_unaffordable": 3,
    # An agent out of line with its peers takes some 100 events (a day of sales and what follows).
    "agent_outlier_cooling_off": 2, "agent_outlier_surrender": 2, "agent_outlier_callback_failure": 2,
    "agent_outlier_complaints": 2, "integrity_below_threshold": 3, "churning": 3,
    # A partner's scorecard takes 30 policies or more (some 100 events) and a partner of its own.
    "partner_outlier_complaints": 1, "partner_outlier_cooling_off": 1, "partner_outlier_processing_time": 1,
    "partner_outlier_loss_ratio": 1,
    "callback_failed": 3, "callback_missing": 3, "complaint_overdue": 3, "mis_selling_complaint": 3,
    "complaint_spike_branch": 2, "complaint_spike_product": 2, "complaint_spike_partner": 2,
    "partner_compliance_rate": 2, "partner_contract_deviation": 2,
    "region_claims_outlier": 2, "claim_settlement_late": 3, "claim_contact_late": 3,
    "third_party_payer": 3, "multiple_payers": 3, "rapid_in_out": 3, "fan_out": 3, "fan_in": 3,
    "amount_anomaly": 3, "claim_payee_mismatch": 3, "early_claim": 3, "round_tripping": 3,
    "partner_barred_business": 3, "partner_qualification_expired": 2, "branch_accountability": 3,
}


#: Typologies whose scenarios and look-alikes each take a partner of the population (set aside, or
#: given a registry change): they do not grow with the events, as the population's partners do not.
PARTNER_TYPOLOGIES: frozenset[str] = frozenset({
    "complaint_spike_partner", "partner_compliance_rate", "partner_contract_deviation",
    "partner_barred_business", "partner_qualification_expired",
    "partner_outlier_complaints", "partner_outlier_cooling_off", "partner_outlier_processing_time",
    "partner_outlier_loss_ratio",
})


def iso_z(ms: int) -> str:
    """Epoch milliseconds as ``YYYY-MM-DDTHH:MM:SS.mmmZ``.

    Formatted from integers, not from a float, so that e.g. ``.123`` never
    comes out as ``.122`` through binary rounding.
    """
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class TruthRecord:
    """One injected scenario, or a benign look-alike that must not raise an alert.

    ``start`` and ``end`` are the event-time window (epoch seconds) of the
    scenario's evidence events: the alert for a non-benign record has its
    ``event_time`` inside it. ``scenario_id`` reads
    ``<typology>[-benign]-<number>-<variant>``, e.g. ``structuring-002-several_policies``.
    """

    scenario_id: str
    typology: str
    entity_type: str
    entity_id: str
    start: float
    end: float
    benign: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO-8601 ``Z`` strings."""
        return {
            "scenario_id": self.scenario_id,
            "typology": self.typology,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "start": iso_z(round(self.start * 1000)),
            "end": iso_z(round(self.end * 1000)),
            "benign": self.benign,
        }


@dataclass(frozen=True, slots=True)
class GeneratedEvent:
    """One message: its Kafka key and the JSON-ready event as it goes on the wire.

    ``key`` is the policy id for policy and payment events and the complaint id
    for complaint events.
    """

    key: str
    event: dict[str, Any]

    @property
    def stream(self) -> str:
        return STREAM_OF_EVENT_TYPE[self.event["event_type"]]

    @property
    def time(self) -> float:
        """Event time, epoch seconds (parsed back from the ISO string)."""
        return datetime.fromisoformat(self.event["event_time"]).timestamp()


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. Sizes are counts; ``start`` is epoch seconds (UTC).

    ``events`` is the exact total (background plus scenarios). ``scenario_mix``
    maps a typology of :data:`SCENARIO_TYPOLOGIES` to the number of scenarios
    to inject; ``{}`` with ``benign=False`` is a clean baseline.
    """

    seed: int = 0
    events: int = 10_000
    start: float = DEFAULT_START
    scenario_mix: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SCENARIO_MIX))
    benign: bool = True
    agents: int = 2000
    branches: int = 40
    partners: int = 30
    customers: int = 20_000
    products: int = 30
    #: Simulated days the events spread over (None: one day per 100,000 events, at least one).
    days: float | None = None

    def __post_init__(self) -> None:
        if self.events < 0:
            raise ValueError("events must be zero or more")
        if self.days is not None and not self.days > 0:
            raise ValueError("days must be positive")
        for name in ("agents", "branches", "partners", "customers", "products"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.products < 6:
            raise ValueError("products must be at least 6 (one per product category)")
        if self.agents < self.branches:
            raise ValueError("agents must be at least branches (every branch needs an agent)")
        for typology, count in self.scenario_mix.items():
            if typology not in SCENARIO_TYPOLOGIES:
                raise ValueError(f"unknown typology {typology!r}; known: {', '.join(SCENARIO_TYPOLOGIES)}")
            if not isinstance(count, int) or count < 0:
                raise ValueError(f"scenario_mix[{typology!r}] must be a non-negative integer")


@dataclass(slots=True)
class _Pending:
    ms: int
    seq: int
    key: str
    event: dict[str, Any]


class EventLog:
    """Collects events in any order; :meth:`finish` sorts them and gives ids.

    Event ids are random UUIDs drawn from a seeded stream *after* sorting, so
    they are deterministic and do not depend on the order things were built in.
    """

    def __init__(self) -> None:
        self._pending: list[_Pending] = []

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, ms: int, event_type: str, key: str, fields: dict[str, Any]) -> None:
        """Record one event at ``ms`` (epoch milliseconds). ``fields`` are the
        event's own fields; ``None`` values are left out, as a real feed would."""
        if event_type not in STREAM_OF_EVENT_TYPE:
            raise ValueError(f"unknown event type {event_type!r}")
        event: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "event_id": "", "event_type": event_type,
                                 "event_time": iso_z(ms)}
        event.update((k, v) for k, v in fields.items() if v is not None)
        self._pending.append(_Pending(ms, len(self._pending), key, event))

    def added(self) -> list[tuple[int, dict[str, Any]]]:
        """``(ms, event)`` of every event added so far, in the order added (event ids not yet given)."""
        return [(item.ms, item.event) for item in self._pending]

    def extend(self, other: "EventLog") -> None:
        for item in other._pending:
            self._pending.append(_Pending(item.ms, len(self._pending), item.key, item.event))

    def finish(self, id_seed: str) -> list[GeneratedEvent]:
        """Events sorted by time (ties in the order they were added), with ids."""
        rng = Random(id_seed)
        out = []
        for item in sorted(self._pending, key=lambda p: (p.ms, p.seq)):
            item.event["event_id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            out.append(GeneratedEvent(item.key, item.event))
        return out
