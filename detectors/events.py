"""The decoded, validated event that every detector sees.

One flat record for all three streams: the fields a given ``event_type`` needs
are set, the rest are ``None``. ``streams.codec`` builds it from bytes and is
the only place that validates; detectors trust it. Personal data (names, phone
numbers, ID-card numbers) is dropped at decoding and never reaches this record,
so it cannot leak into findings, alerts, logs or metric labels.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

POLICY = "policy"
PAYMENT = "payment"
COMPLAINT = "complaint"


@dataclass(frozen=True, slots=True)
class Event:
    event_id: str
    event_type: str
    stream: str
    #: Event time, seconds since the Unix epoch (UTC).
    time: float
    policy_id: str | None = None
    customer_id: str | None = None
    agent_id: str | None = None
    branch_id: str | None = None
    partner_id: str | None = None
    product_id: str | None = None
    # policy stream
    transcript: str | None = None
    #: Annual premium of a sale, CNY.
    premium: float | None = None
    product_risk_level: int | None = None
    product_category: str | None = None
    term_years: int | None = None
    customer_age: int | None = None
    #: Declared annual income, CNY.
    customer_income: float | None = None
    customer_risk_tolerance: int | None = None
    callback_reason: str | None = None
    # payment stream
    amount: float | None = None
    currency: str | None = None
    channel: str | None = None
    payer_account_id: str | None = None
    payee_account_id: str | None = None
    # complaint stream
    complaint_id: str | None = None
    category: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that are set: the form forwarded between workers."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_trusted_dict(cls, data: dict[str, Any]) -> "Event":
        """Rebuild an event that :meth:`to_dict` produced (no validation)."""
        return cls(**data)
