"""Decoded events for the unit tests, and a driver that feeds them to one detector.

Times are absolute epoch seconds; ``at(h)`` is ``h`` hours after ``T0``
(2023-11-19T00:00:00Z), which is a whole number of 24 h and of 72 h windows, so
a window start bucketed to either comes out as ``T0`` itself.
"""
from __future__ import annotations

from typing import Any

from detectors.base import Detector, Finding, State
from detectors.events import Event
from streams.schemas import REQUIRED, STREAM_OF_EVENT_TYPE

T0 = 1_700_352_000.0
HOUR = 3600.0
DAY = 86_400.0


def at(hours: float) -> float:
    return T0 + hours * HOUR


#: A suitable sale: risk 3 for a tolerance of 3, 12,000 CNY a year on 200,000 CNY, aged 40.
SALE_FIELDS: dict[str, Any] = {
    "customer_id": "C1", "branch_id": "B1", "product_id": "PR1", "premium": 12_000.0, "product_risk_level": 3,
    "product_category": "protection", "term_years": 20, "customer_age": 40, "customer_income": 200_000.0,
    "customer_risk_tolerance": 3,
}


def sale(event_id: str, transcript: str | None, *, t: float = T0, policy_id: str | None = "P1",
         agent_id: str = "A1", **extra) -> Event:
    """A ``sale_recorded`` with :data:`SALE_FIELDS`; ``extra`` overrides any of them."""
    return Event(event_id, "sale_recorded", "policy", t, policy_id=policy_id, agent_id=agent_id,
                 transcript=transcript, **{**SALE_FIELDS, **extra})


def policy_event(event_id: str, event_type: str, *, t: float = T0, policy_id: str = "P1", agent_id: str = "A1",
                 **extra) -> Event:
    """Any other policy-stream event (``policy_issued``, ``callback_failed``, ``surrendered``...)."""
    fields = {"customer_id": "C1", "branch_id": "B1", **extra}
    return Event(event_id, event_type, "policy", t, policy_id=policy_id, agent_id=agent_id, **fields)


def claim(event_id: str, event_type: str, *, t: float = T0, claim_id: str = "CL1", claim_type: str = "motor",
          amount: float | None = 3_000.0, region: str = "GD", policy_id: str = "P1", **extra) -> Event:
    """A claims-service event (``claim_reported``, ``claim_contacted``, ``claim_settled``)."""
    return Event(event_id, event_type, "policy", t, policy_id=policy_id, customer_id="C1", claim_id=claim_id,
                 claim_type=claim_type, region=region,
                 amount=None if event_type == "claim_contacted" else amount, **extra)


def payment(event_id: str, amount: float, *, t: float = T0, account: str = "ACC1", channel: str = "cash",
            policy_id: str = "P1", customer_id: str = "C1", **extra) -> Event:
    """A ``premium_paid`` from ``account`` into the insurer's."""
    return Event(event_id, "premium_paid", "payment", t, policy_id=policy_id, customer_id=customer_id,
                 amount=amount, currency="CNY", channel=channel, payer_account_id=account,
                 payee_account_id="INSURER", **extra)


def payout(event_id: str, event_type: str, amount: float, *, t: float = T0, payee: str = "ACC1",
           policy_id: str = "P1", customer_id: str = "C1", **extra) -> Event:
    """A ``refund``, ``surrender_payout`` or ``claim_payout`` from the insurer to ``payee``."""
    return Event(event_id, event_type, "payment", t, policy_id=policy_id, customer_id=customer_id, amount=amount,
                 currency="CNY", channel="bank_transfer", payer_account_id="INSURER", payee_account_id=payee,
                 **extra)


def complaint(event_id: str, *, t: float = T0, agent_id: str = "A1", **extra) -> Event:
    fields = {"complaint_id": f"CP-{event_id}", "customer_id": "C1", "branch_id": "B1", "category": "mis_selling",
              **extra}
    return Event(event_id, "complaint_filed", "complaint", t, agent_id=agent_id, **fields)


#: A valid value for every field an event may carry, as it appears in JSON.
VALID_FIELDS: dict[str, Any] = {
    "policy_id": "P1", "customer_id": "C1", "agent_id": "A1", "branch_id": "B1", "partner_id": "PT1",
    "product_id": "PR1", "transcript": "这款产品保障全面，请您仔细阅读条款", "premium": 12_000.0,
    "product_risk_level": 3, "product_category": "protection", "term_years": 20, "customer_age": 40,
    "customer_income": 200_000.0, "customer_risk_tolerance": 3, "callback_reason": "no answer",
    "amount": 45_000.0, "currency": "CNY", "channel": "cash", "payer_account_id": "ACC1",
    "payee_account_id": "INSURER", "complaint_id": "CP1", "category": "mis_selling",
    "policy_age_days": 400, "typology": "misleading_sales_phrase",
    "claim_id": "CL1", "region": "GD", "claim_type": "motor", "deadline_hours": 24.0, "commission_rate": 0.25,
    "contract_commission_rate": 0.25,
}
#: ``T0`` as the producers write it.
T0_ISO = "2023-11-19T00:00:00Z"


def raw_event(event_type: str, /, **fields: Any) -> dict[str, Any]:
    """A valid JSON event of ``event_type`` at ``T0`` with its required fields
    (from :data:`VALID_FIELDS`), then ``fields`` laid over it."""
    stream = STREAM_OF_EVENT_TYPE[event_type]
    event = {"schema_version": 1, "event_id": "e1", "event_type": event_type, "event_time": T0_ISO}
    event.update({name: VALID_FIELDS[name] for name in REQUIRED[stream][event_type]})
    event.update(fields)
    return event


def feed(detector: Detector, events, states: dict[str, State] | None = None) -> tuple[list[Finding], dict]:
    """Run ``events`` through ``detector`` the way the engine does: state per
    entity key, ``None`` deletes it; a stateless detector always gets ``None``."""
    states = {} if states is None else states
    findings: list[Finding] = []
    for event in events:
        if detector.keyspace is None:
            new, found = detector.observe(event, None)
            assert new is None, f"stateless {detector.name} returned state {new!r}"
        else:
            key = detector.key(event)
            if key is None:
                continue
            new, found = detector.observe(event, states.get(key))
            if new is None:
                states.pop(key, None)
            else:
                states[key] = new
        findings.extend(found)
    return findings, states


def advance_all(detector: Detector, states: dict[str, State], watermark: float) -> list[Finding]:
    """``advance`` every entity to ``watermark``, deleting those that return ``None``."""
    findings: list[Finding] = []
    for key in list(states):
        new, found = detector.advance(states[key], watermark)
        if new is None:
            del states[key]
        else:
            states[key] = new
        findings.extend(found)
    return findings
