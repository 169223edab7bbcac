"""How each event type looks on the wire: one builder per event type.

Background activity and scenarios both build their events here, so an
injected scenario's events are indistinguishable in shape from ordinary ones.
Fields follow ``streams.schemas`` version 1; personal data (name, phone, ID
number) rides in the personal-data fields only, as a real upstream feed would
send it, and is dropped by the codec. Amounts are CNY with two decimals.
"""
from __future__ import annotations

import hashlib
from typing import Any

from streams.generator.model import EventLog
from streams.generator.population import (
    COLLECTION_ACCOUNT,
    DISBURSEMENT_ACCOUNT,
    Policy,
    Population,
    region_of_branch,
)


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


#: Categories whose policies name beneficiaries (a death benefit); health and motor pay the policyholder.
BENEFICIARY_CATEGORIES = ("protection", "investment_linked", "long_term_savings", "annuity")


def beneficiary_accounts(pop: Population, policy: Policy) -> list[str]:
    """The bank accounts of the policy's named beneficiaries (relatives): one or
    two for a life-type policy, none for health and motor. Derived from the
    policy id, so they draw nothing from the random streams."""
    if pop.products[policy.product].category not in BENEFICIARY_CATEGORIES:
        return []
    digest = hashlib.blake2b(policy.policy_id.encode(), digest_size=16).digest()
    count = 1 + digest[0] % 2
    return [f"AC{1_000_000_000 + int.from_bytes(digest[1 + 5 * i: 6 + 5 * i], 'big') % 9_000_000_000}"
            for i in range(count)]


def policy_issued(log: EventLog, ms: int, pop: Population, policy: Policy,
                  commission_rate: float | None = None) -> None:
    """A policy sold through a partner also carries the commission rate its contract
    sets and the one applied (``commission_rate``; by default the contract's)."""
    customer = pop.customers[policy.customer]
    partner_id = pop.agents[policy.agent].partner_id
    contract = pop.partner(partner_id).commission_rate if partner_id else None
    log.add(ms, "policy_issued", policy.policy_id, {
        **_policy_ref(pop, policy), "policyholder_account_id": customer.account_id,
        "beneficiary_account_ids": beneficiary_accounts(pop, policy) or None,
        "contract_commission_rate": contract,
        "commission_rate": (contract if commission_rate is None else commission_rate) if contract else None,
        "customer_name": customer.name, "customer_id_number": customer.id_number})


def callback(log: EventLog, ms: int, pop: Population, policy: Policy, failed_reason: str | None = None,
             note: str | None = None) -> None:
    """A new-policy callback; ``failed_reason`` makes it ``callback_failed``; ``note``: the
    reason a completed one records (e.g. rescheduled by the customer)."""
    customer = pop.customers[policy.customer]
    log.add(ms, "callback_failed" if failed_reason else "callback_completed", policy.policy_id, {
        **_policy_ref(pop, policy), "callback_reason": failed_reason or note,
        "customer_name": customer.name, "customer_phone": customer.phone})


def premium_paid(log: EventLog, ms: int, pop: Population, policy: Policy, amount: float, channel: str,
                 payer_account: str | None = None) -> None:
    """``amount`` CNY paid into the insurer's account from the policyholder's own
    account, or from ``payer_account`` (a third party). The payment carries the
    policyholder's account from the policy record."""
    customer = pop.customers[policy.customer]
    log.add(ms, "premium_paid", policy.policy_id, {
        **_policy_ref(pop, policy),
        "payer_account_id": payer_account or customer.account_id,
        "payee_account_id": COLLECTION_ACCOUNT,
        "policyholder_account_id": customer.account_id,
        "amount": amount,
        "currency": "CNY",
        "channel": channel,
        "customer_name": customer.name,
    })


def payout(log: EventLog, ms: int, pop: Population, policy: Policy, event_type: str, amount: float,
           payee_account: str | None = None) -> None:
    """``refund``, ``surrender_payout`` or ``claim_payout`` of ``amount`` CNY, by
    bank transfer, to the policyholder's own account or to ``payee_account``.
    Payouts carry the policyholder's account, and claims the beneficiaries'."""
    customer = pop.customers[policy.customer]
    log.add(ms, event_type, policy.policy_id, {
        **_policy_ref(pop, policy),
        "payer_account_id": DISBURSEMENT_ACCOUNT,
        "payee_account_id": payee_account or customer.account_id,
        "policyholder_account_id": customer.account_id,
        "beneficiary_account_ids": (beneficiary_accounts(pop, policy) or None) if event_type == "claim_payout"
        else None,
        "amount": amount,
        "currency": "CNY",
        "channel": "bank_transfer",
        "customer_name": customer.name,
    })


def policy_ended(log: EventLog, ms: int, pop: Population, policy: Policy, event_type: str, amount: float,
                 age_days: int | None = None) -> None:
    """``cooling_off_cancelled`` or ``surrendered``, returning ``amount`` CNY;
    ``age_days``: days since the policy was issued."""
    customer = pop.customers[policy.customer]
    log.add(ms, event_type, policy.policy_id, {
        **_policy_ref(pop, policy), "amount": amount, "policy_age_days": age_days,
        "customer_name": customer.name, "customer_id_number": customer.id_number})


def complaint_filed(log: EventLog, ms: int, pop: Population, complaint_id: str, customer_index: int,
                    agent_index: int, category: str, policy: Policy | None = None,
                    deadline_hours: float | None = None) -> None:
    """``deadline_hours``: a handling deadline the complaint system sets (fast track), or none."""
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
        "deadline_hours": deadline_hours,
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


def claim(log: EventLog, ms: int, pop: Population, policy: Policy, event_type: str, claim_id: str, claim_type: str,
          amount: float | None = None) -> None:
    """``claim_reported`` (``amount``: claimed, CNY), ``claim_contacted`` or ``claim_settled``
    (``amount``: settled) of claim ``claim_id`` on ``policy``, in the region of the policy's branch."""
    customer = pop.customers[policy.customer]
    log.add(ms, event_type, policy.policy_id, {
        **_policy_ref(pop, policy), "claim_id": claim_id, "claim_type": claim_type,
        "region": region_of_branch(pop.agents[policy.agent].branch_id), "amount": amount,
        "customer_name": customer.name, "customer_phone": customer.phone})
