"""How each event type looks on the wire: one builder per event type.

Background activity and scenarios both build their events here, so an
injected scenario's events are indistinguishable in shape from ordinary ones.
Fields follow ``streams.schemas`` version 1; personal data (name, phone, ID
number) rides in the personal-data fields only, as a real upstream feed would
send it, and is dropped by the codec. Amounts are CNY with two decimals.
"""
from __future__ import annotations

from typing import Any

from streams.generator.model import EventLog
from streams.generator.population import COLLECTION_ACCOUNT, DISBURSEMENT_ACCOUNT, Policy, Population


def _policy_ref(pop: Population, policy: Policy) -> dict[str, Any]:
    agent = pop.agents[policy.agent]
    return {
        "policy_id": policy.policy_id,
        "customer_id": pop.customers[policy.customer].customer_id,
        "agent_id": agent.agent_id,
        "branch_id": agent.branch_id,
        "partner_id": agent.partner_id,
        "product_id": pop.products[policy.product].product_id,
    }


def instalment(policy: Policy) -> float:
    """One premium payment of ``policy``: a twelfth of the annual premium if paid monthly (CNY)."""
    return round(policy.premium / 12, 2) if policy.monthly else policy.premium


def sale_recorded(log: EventLog, ms: int, pop: Population, policy: Policy, transcript: str) -> None:
    customer = pop.customers[policy.customer]
    product = pop.products[policy.product]
    log.add(ms, "sale_recorded", policy.policy_id, {
        **_policy_ref(pop, policy),
        "transcript": transcript,
        "premium": policy.premium,
        "product_risk_level": product.risk_level,
        "product_category": product.category,
        "term_years": product.term_years,
        "customer_age": customer.age,
        "customer_income": customer.income,
        "customer_risk_tolerance": customer.risk_tolerance,
        "customer_name": customer.name,
        "customer_phone": customer.phone,
        "customer_id_number": customer.id_number,
    })


def policy_issued(log: EventLog, ms: int, pop: Population, policy: Policy) -> None:
    customer = pop.customers[policy.customer]
    log.add(ms, "policy_issued", policy.policy_id, {
        **_policy_ref(pop, policy), "customer_name": customer.name, "customer_id_number": customer.id_number})


def callback(log: EventLog, ms: int, pop: Population, policy: Policy, failed_reason: str | None = None) -> None:
    """A new-policy callback; ``failed_reason`` makes it ``callback_failed``."""
    customer = pop.customers[policy.customer]
    log.add(ms, "callback_failed" if failed_reason else "callback_completed", policy.policy_id, {
        **_policy_ref(pop, policy), "callback_reason": failed_reason,
        "customer_name": customer.name, "customer_phone": customer.phone})


def premium_paid(log: EventLog, ms: int, pop: Population, policy: Policy, amount: float, channel: str) -> None:
    """The customer pays ``amount`` CNY from their own account into the insurer's."""
    customer = pop.customers[policy.customer]
    log.add(ms, "premium_paid", policy.policy_id, {
        **_policy_ref(pop, policy),
        "payer_account_id": customer.account_id,
        "payee_account_id": COLLECTION_ACCOUNT,
        "amount": amount,
        "currency": "CNY",
        "channel": channel,
        "customer_name": customer.name,
    })


def payout(log: EventLog, ms: int, pop: Population, policy: Policy, event_type: str, amount: float) -> None:
    """``refund``, ``surrender_payout`` or ``claim_payout`` of ``amount`` CNY to the
    policyholder's own account, by bank transfer."""
    customer = pop.customers[policy.customer]
    log.add(ms, event_type, policy.policy_id, {
        **_policy_ref(pop, policy),
        "payer_account_id": DISBURSEMENT_ACCOUNT,
        "payee_account_id": customer.account_id,
        "amount": amount,
        "currency": "CNY",
        "channel": "bank_transfer",
        "customer_name": customer.name,
    })


def policy_ended(log: EventLog, ms: int, pop: Population, policy: Policy, event_type: str, amount: float) -> None:
    """``cooling_off_cancelled`` or ``surrendered``, returning ``amount`` CNY."""
    customer = pop.customers[policy.customer]
    log.add(ms, event_type, policy.policy_id, {
        **_policy_ref(pop, policy), "amount": amount,
        "customer_name": customer.name, "customer_id_number": customer.id_number})


def complaint_filed(log: EventLog, ms: int, pop: Population, complaint_id: str, customer_index: int,
                    agent_index: int, category: str, policy: Policy | None = None) -> None:
    customer = pop.customers[customer_index]
    agent = pop.agents[agent_index]
    log.add(ms, "complaint_filed", complaint_id, {
        "complaint_id": complaint_id,
        "customer_id": customer.customer_id,
        "agent_id": agent.agent_id,
        "branch_id": agent.branch_id,
        "partner_id": agent.partner_id,
        "policy_id": policy.policy_id if policy else None,
        "product_id": pop.products[policy.product].product_id if policy else None,
        "category": category,
        "customer_name": customer.name,
        "customer_phone": customer.phone,
    })


def complaint_resolved(log: EventLog, ms: int, pop: Population, complaint_id: str, customer_index: int,
                       agent_index: int) -> None:
    agent = pop.agents[agent_index]
    log.add(ms, "complaint_resolved", complaint_id, {
        "complaint_id": complaint_id,
        "customer_id": pop.customers[customer_index].customer_id,
        "agent_id": agent.agent_id,
        "branch_id": agent.branch_id,
    })
