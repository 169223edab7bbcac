"""The decoded, validated event that every detector sees.

One flat record for all three streams: the fields a given ``event_type`` needs
are set, the rest are ``None``. ``streams.codec`` builds it from bytes and is
the only place that validates; detectors trust it. Personal data (names, phone
numbers, ID-card numbers) is dropped at decoding and never reaches this record,
so it cannot leak into findings, alerts, logs or metric labels.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from detectors.registry import PartnerStanding

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
    #: Days from the policy's issue to this event (``surrendered``, ``cooling_off_cancelled``).
    policy_age_days: int | None = None
    #: The typology an ``alert_confirmed`` disposition confirms (e.g. ``misleading_sales_phrase``).
    typology: str | None = None
    # claims service (policy stream: claim_reported, claim_contacted, claim_settled)
    claim_id: str | None = None
    #: The claims-handling region (a province code such as ``GD``).
    region: str | None = None
    #: ``motor``, ``injury``, ``property`` or ``health``.
    claim_type: str | None = None
    #: Handling deadline of a complaint set by the complaint system, hours after filing.
    deadline_hours: float | None = None
    #: Commission rate (share of premium) a partner applied to a policy, and the rate its contract sets.
    commission_rate: float | None = None
    contract_commission_rate: float | None = None
    #: The policyholder's own bank account (``policy_issued``; payments carry it too, from the policy record).
    policyholder_account_id: str | None = None
    #: Accounts of the policy's named beneficiaries (``policy_issued``, ``claim_payout``); a list of ids.
    beneficiary_account_ids: list[str] | None = None

    #: ``alert_confirmed``: the confirmed alert's tier and id.
    tier: str | None = None
    alert_id: str | None = None
    #: How the partner named by ``partner_id`` stood in the registry at this event's time;
    #: attached by the engine (never on the wire), None when the registry does not know it.
    partner: PartnerStanding | None = None

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that are set: the form forwarded between workers."""
        # Field by field rather than dataclasses.asdict, which deep-copies every value
        # (6% of the input stage's time in a burst); the result only goes to orjson.
        data = {name: value for name in _WIRE_FIELDS if (value := getattr(self, name)) is not None}
        if self.partner is not None:
            data["partner"] = asdict(self.partner)
        return data

    @classmethod
    def from_trusted_dict(cls, data: dict[str, Any]) -> "Event":
        """Rebuild an event that :meth:`to_dict` produced (no validation)."""
        standing = data.get("partner")
        if standing is not None:
            data = {**data, "partner": PartnerStanding.from_dict(standing)}
        return cls(**data)


#: The fields :meth:`Event.to_dict` copies as they are (``partner`` is a dataclass of its own).
_WIRE_FIELDS = tuple(f.name for f in fields(Event) if f.name != "partner")
