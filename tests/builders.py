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


def sale(event_id: str, transcript: str | None, *, t: float = T0, policy_id: str | None = "P1",
         agent_id: str = "A1", **extra) -> Event:
    return Event(event_id, "sale_recorded", "policy", t, policy_id=policy_id, customer_id="C1",
                 agent_id=agent_id, branch_id="B1", product_id="PR1", transcript=transcript,
                 premium=12_000.0, product_risk_level=3, product_category="protection", term_years=20,
                 customer_age=40, customer_income=200_000.0, customer_risk_tolerance=3, **extra)


def payment(event_id: str, amount: float, *, t: float = T0, account: str = "ACC1", channel: str = "cash",
            **extra) -> Event:
    return Event(event_id, "premium_paid", "payment", t, policy_id="P1", customer_id="C1", amount=amount,
                 currency="CNY", channel=channel, payer_account_id=account, payee_account_id="INSURER", **extra)


def complaint(event_id: str, *, t: float = T0, agent_id: str = "A1", **extra) -> Event:
    return Event(event_id, "complaint_filed", "complaint", t, complaint_id=f"CP-{event_id}", customer_id="C1",
                 agent_id=agent_id, branch_id="B1", category="mis_selling", **extra)


#: A valid value for every field an event may carry, as it appears in JSON.
VALID_FIELDS: dict[str, Any] = {
    "policy_id": "P1", "customer_id": "C1", "agent_id": "A1", "branch_id": "B1", "partner_id": "PT1",
    "product_id": "PR1", "transcript": "这款产品保障全面，请您仔细阅读条款", "premium": 12_000.0,
    "product_risk_level": 3, "product_category": "protection", "term_years": 20, "customer_age": 40,
    "customer_income": 200_000.0, "customer_risk_tolerance": 3, "callback_reason": "no answer",
    "amount": 45_000.0, "currency": "CNY", "channel": "cash", "payer_account_id": "ACC1",
    "payee_account_id": "INSURER", "complaint_id": "CP1", "category": "mis_selling",
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
