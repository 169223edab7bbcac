"""What a policy-keyed payment detector knows about its policy.

Two sources, the payment first: payments carry ``policyholder_account_id``
(and claim payouts ``beneficiary_account_ids``) from the policy record, and
``policy_issued`` carries both plus the inception time. A detector that keeps
state per policy and watches ``policy_issued`` too stores the facts in its
state under ``"i"`` with :func:`remember`, and reads them back with the
functions below, given what the payment itself said, so a payment that lacks
the fields is still judged while the facts are kept (each detector says how
long).

Facts: ``{"t": issue time, "h": policyholder account or None, "b": [beneficiary accounts]}``.
"""
from __future__ import annotations

from detectors.events import Event

ISSUED = "policy_issued"


def remember(state: dict, event: Event) -> None:
    """Store the facts of a ``policy_issued`` event in ``state["i"]``."""
    state["i"] = {"t": event.time, "h": event.policyholder_account_id,
                  "b": sorted(event.beneficiary_account_ids or [])}


def holder_account(state: dict | None, given: str | None) -> str | None:
    """The policyholder's own account: ``given`` by the payment, else from the remembered facts."""
    if given is not None:
        return given
    facts = (state or {}).get("i")
    return facts["h"] if facts else None


def beneficiary_accounts(state: dict | None, given: list[str] | None) -> list[str]:
    """The beneficiaries' accounts: ``given`` by the payment when it names any, else the remembered facts."""
    if given:
        return sorted(given)
    facts = (state or {}).get("i")
    return list(facts["b"]) if facts else []


def issued_at(state: dict | None) -> float | None:
    facts = (state or {}).get("i")
    return facts["t"] if facts else None


def forget_after(state: dict, horizon: float) -> None:
    """Drop the facts of a policy issued before ``horizon``."""
    facts = state.get("i")
    if facts is not None and facts["t"] < horizon:
        state["i"] = None
