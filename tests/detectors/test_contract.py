"""The contract every registered detector keeps (river's ``check_estimator``).

Parametrised over ``detectors.base.REGISTRY``: a new detector is checked as soon
as it registers, and fails here until it adds a sample stream to
``SAMPLE_STREAMS`` below. A sample stream is a handful of events for one entity
that lie within one window of the detector and make it fire at least once.
"""
from __future__ import annotations

import doctest
import importlib
import itertools
import pkgutil
import random
import re
import time
from collections.abc import Callable

import orjson
import pytest

import detectors
from builders import DAY, HOUR, T0, advance_all, claim, complaint, feed, payment, payout, policy_event, sale
from detectors.base import REGISTRY, Detector, Finding, Tier
from detectors.config import DetectorConfig
from detectors.events import Event
from detectors.registry import PartnerStanding
from streams.engine import build_detectors

# Every module of the package, so that a detector is checked even before the
# engine imports it.
DETECTOR_MODULES = [importlib.import_module(f"detectors.{m.name}") for m in pkgutil.iter_modules(detectors.__path__)]

SampleStream = Callable[[str, float, int], list[Event]]
"""(entity, start time, run) -> events; ``run`` makes the event ids of a repeat unique."""


def _banned_phrases_sample(entity: str, start: float, run: int) -> list[Event]:
    ids = (f"bp-{entity}-{run}-{i}" for i in itertools.count())
    return [
        sale(next(ids), "这款产品稳赚不赔，您放心", t=start, policy_id=f"P-{entity}"),
        sale(next(ids), "This plan protects your family.", t=start + HOUR, policy_id=f"P-{entity}-clean"),
        sale(next(ids), "Guaranteed returns, 零风险!", t=start + 2 * HOUR, policy_id=f"P-{entity}-2"),
    ]


def _structuring_sample(entity: str, start: float, run: int) -> list[Event]:
    # Five cash payments just under 50,000 within 24 h (high at the third,
    # critical at the fifth), plus payments the detector must ignore.
    ids = (f"st-{entity}-{run}-{i}" for i in itertools.count())
    account = f"ACC-{entity}"
    return [
        payment(next(ids), 45_000.0, t=start, account=account),
        payment(next(ids), 30_000.0, t=start + 1 * HOUR, account=account),  # below the band
        payment(next(ids), 46_000.0, t=start + 6 * HOUR, account=account),
        payment(next(ids), 45_000.0, t=start + 7 * HOUR, account=account, channel="bank_transfer"),
        payment(next(ids), 47_000.0, t=start + 12 * HOUR, account=account),
        payment(next(ids), 48_000.0, t=start + 18 * HOUR, account=account),
        payment(next(ids), 49_000.0, t=start + 24 * HOUR, account=account),
        payment(next(ids), 45_000.0, t=start + 25 * HOUR, account=f"{account}-other"),
    ]


def _complaint_spike_sample(entity: str, start: float, run: int) -> list[Event]:
    # Six complaints against one agent within 5 h (medium at the third, high at
    # the sixth), and one against a second agent.
    ids = (f"cs-{entity}-{run}-{i}" for i in itertools.count())
    agent = f"A-{entity}"
    events = [complaint(next(ids), t=start + i * HOUR, agent_id=agent) for i in range(6)]
    events.insert(2, complaint(next(ids), t=start + 1.5 * HOUR, agent_id=f"{agent}-other"))
    return events


def _suitability_sample(**unsuitable) -> SampleStream:
    # A suitable sale, then one breaking the rule, then another suitable one.
    def make(entity: str, start: float, run: int) -> list[Event]:
        ids = (f"su-{entity}-{run}-{i}" for i in itertools.count())
        return [
            sale(next(ids), None, t=start, policy_id=f"P-{entity}-ok"),
            sale(next(ids), None, t=start + HOUR, policy_id=f"P-{entity}", **unsuitable),
            sale(next(ids), None, t=start + 2 * HOUR, policy_id=f"P-{entity}-ok2", customer_age=64,
                 product_category="investment_linked", premium=60_000.0),
        ]
    return make


def _agent_peers_sample(counted: str, exposure: str, **counted_fields) -> SampleStream:
    # Agent A: 7 counted events in 12 of exposure; agent B, a peer: 10 of
    # exposure and nothing counted. Peer rate (0 + 200 x prior) / (10 + 200):
    # 7 in 12 is far out of line whatever the order, and fires once. A failed
    # callback is exposure too (a callback made), so A then makes 5 more.
    def make(entity: str, start: float, run: int) -> list[Event]:
        ids = (f"ap-{entity}-{run}-{i}" for i in itertools.count())

        def event(event_type: str, t: float, agent: str, **extra) -> Event:
            return Event(next(ids), event_type, "complaint" if event_type == "complaint_filed" else "policy", t,
                         policy_id=f"P-{agent}-{t:.0f}", agent_id=agent, branch_id=f"B-{entity}", **extra)

        also_exposure = counted == "callback_failed"
        events = [event(exposure, start + i * HOUR, f"A-{entity}") for i in range(5 if also_exposure else 12)]
        events += [event(counted, start + (2 + i) * HOUR + 60, f"A-{entity}", **counted_fields) for i in range(7)]
        events += [event(exposure, start + i * HOUR + 30, f"B-{entity}") for i in range(10)]
        return sorted(events, key=lambda e: e.time)
    return make


def _churning_sample(entity: str, start: float, run: int) -> list[Event]:
    # Customer C: surrenders P-old through agent A, buys P-new through A ten
    # days later (medium), buys through agent B (not a pair), then cancels
    # P-old2 in cooling-off through A (a second policy replaced: high).
    ids = (f"ch-{entity}-{run}-{i}" for i in itertools.count())
    customer, agent = f"C-{entity}", f"A-{entity}"
    return [
        policy_event(next(ids), "surrendered", t=start, policy_id=f"P-{entity}-old", agent_id=agent,
                     customer_id=customer, policy_age_days=400),
        policy_event(next(ids), "sale_recorded", t=start + 5 * DAY, policy_id=f"P-{entity}-other",
                     agent_id=f"B-{entity}", customer_id=customer),
        policy_event(next(ids), "sale_recorded", t=start + 10 * DAY, policy_id=f"P-{entity}-new", agent_id=agent,
                     customer_id=customer),
        policy_event(next(ids), "policy_issued", t=start + 10 * DAY + HOUR, policy_id=f"P-{entity}-new",
                     agent_id=agent, customer_id=customer),
        policy_event(next(ids), "cooling_off_cancelled", t=start + 20 * DAY, policy_id=f"P-{entity}-old2",
                     agent_id=agent, customer_id=customer, policy_age_days=9),
    ]


def _integrity_score_sample(entity: str, start: float, run: int) -> list[Event]:
    # Agent A: a banned phrase (20), an unsuitable sale (15), a mis-selling
    # complaint (10): 100 - 45 = 55, below 60. A clean sale and a failed
    # callback (2) around them. Policies are the same from run to run, so a
    # repeat of the stream deducts nothing more.
    ids = (f"is-{entity}-{run}-{i}" for i in itertools.count())
    agent = f"A-{entity}"
    return [
        sale(next(ids), "这款产品稳赚不赔", t=start, policy_id=f"P-{entity}-1", agent_id=agent),
        sale(next(ids), "保障全面", t=start + HOUR, policy_id=f"P-{entity}-2", agent_id=agent),
        policy_event(next(ids), "callback_failed", t=start + 2 * HOUR, policy_id=f"P-{entity}-2", agent_id=agent),
        sale(next(ids), None, t=start + 3 * HOUR, policy_id=f"P-{entity}-3", agent_id=agent, product_risk_level=5),
        complaint(next(ids), t=start + 4 * HOUR, agent_id=agent, complaint_id=f"CP-{entity}"),
    ]


def _callbacks_sample(entity: str, start: float, run: int) -> list[Event]:
    # P1: issued, a failed callback at 2 h (failed, at once), then the first
    # successful callback only at 73 h (missing, when it arrives). P2: called back at 3 h.
    ids = (f"cb-{entity}-{run}-{i}" for i in itertools.count())
    p1, p2 = f"P-{entity}", f"P-{entity}-2"
    return [
        policy_event(next(ids), "policy_issued", t=start, policy_id=p1),
        policy_event(next(ids), "policy_issued", t=start + HOUR, policy_id=p2),
        policy_event(next(ids), "callback_failed", t=start + 2 * HOUR, policy_id=p1, callback_reason="no_answer"),
        policy_event(next(ids), "callback_completed", t=start + 3 * HOUR, policy_id=p2),
        policy_event(next(ids), "callback_completed", t=start + 73 * HOUR, policy_id=p1),
    ]


def _complaint_deadline_sample(entity: str, start: float, run: int) -> list[Event]:
    # K1: a 4-hour fast-track complaint resolved at 5 h (overdue, when the
    # resolution arrives); K2: resolved within its 15 days.
    ids = (f"cd-{entity}-{run}-{i}" for i in itertools.count())
    k1, k2 = f"CP-{entity}-1", f"CP-{entity}-2"
    return [
        complaint(next(ids), t=start, complaint_id=k1, category="claims_service", deadline_hours=4.0),
        complaint(next(ids), t=start + HOUR, complaint_id=k2, category="billing"),
        Event(next(ids), "complaint_resolved", "complaint", start + 2 * HOUR, complaint_id=k2, customer_id="C1"),
        Event(next(ids), "complaint_resolved", "complaint", start + 5 * HOUR, complaint_id=k1, customer_id="C1"),
    ]


def _claim_target_sample(claim_type: str, amount: float, late: float, meeting: str) -> SampleStream:
    # On one policy: a claim held to the target met late (fires when the late
    # event arrives), one met in time, and a claim held to no target.
    def make(entity: str, start: float, run: int) -> list[Event]:
        ids = (f"cl-{entity}-{run}-{i}" for i in itertools.count())
        kw = {"policy_id": f"P-{entity}", "claim_type": claim_type, "amount": amount}
        return [
            claim(next(ids), "claim_reported", t=start, claim_id=f"CL-{entity}-1", **kw),
            claim(next(ids), meeting, t=start + late, claim_id=f"CL-{entity}-1", **kw),
            claim(next(ids), "claim_reported", t=start + late + HOUR, claim_id=f"CL-{entity}-2", **kw),
            claim(next(ids), meeting, t=start + late + 1.2 * HOUR, claim_id=f"CL-{entity}-2", **kw),
            claim(next(ids), "claim_reported", t=start + late + 2 * HOUR, claim_id=f"CL-{entity}-3",
                  policy_id=f"P-{entity}", claim_type="health", amount=900.0),
        ]
    return make


def _region_claims_sample(entity: str, start: float, run: int) -> list[Event]:
    # Region R: 8 small motor claims an hour apart, 5 settled after 40 min
    # (breaches), 3 after 10 min. Three other regions: 2 claims each, in time.
    # Reference: fewer than 3 other regions early on, then their median shrunk
    # rate (0 + 0.6) / (2 + 20) = 2.7%; 5 of 8 is far above either.
    ids = (f"rc-{entity}-{run}-{i}" for i in itertools.count())
    events = []
    for i in range(8):
        t = start + i * HOUR
        kw = {"claim_id": f"CL-{entity}-{i}", "region": f"R-{entity}", "policy_id": f"P-{entity}-{i}"}
        events += [claim(next(ids), "claim_reported", t=t, **kw),
                   claim(next(ids), "claim_settled", t=t + (40 if i % 3 else 10) * 60, **kw)]
        if i < 6:
            kw = {"claim_id": f"CL-{entity}-o{i}", "region": f"O{i % 3}-{entity}", "policy_id": f"P-{entity}-o{i}"}
            events += [claim(next(ids), "claim_reported", t=t + 45 * 60, **kw),
                       claim(next(ids), "claim_settled", t=t + 50 * 60, **kw)]
    return events


def _complaint_level_spike_sample(entity: str, start: float, run: int) -> list[Event]:
    # Sixteen complaints in 15 h, each against another agent of one branch,
    # about one product, through one partner: 12 (15 for the product) in 24 h
    # where 0.5 (0.3, 1.0) a day are expected fires each level; one complaint elsewhere.
    ids = (f"cl-{entity}-{run}-{i}" for i in itertools.count())
    where = {"branch_id": f"B-{entity}", "product_id": f"PR-{entity}", "partner_id": f"PT-{entity}"}
    events = [complaint(next(ids), t=start + i * HOUR, agent_id=f"A-{entity}-{i}", **where) for i in range(16)]
    events.insert(3, complaint(next(ids), t=start + 2.5 * HOUR, agent_id=f"A-{entity}-x", branch_id=f"B-{entity}-x",
                               product_id=f"PR-{entity}-x", partner_id=f"PT-{entity}-x"))
    return events


def _mis_selling_complaint_sample(entity: str, start: float, run: int) -> list[Event]:
    ids = (f"ms-{entity}-{run}-{i}" for i in itertools.count())
    return [
        complaint(next(ids), t=start, complaint_id=f"CP-{entity}-1", category="mis_selling", policy_id=f"P-{entity}"),
        complaint(next(ids), t=start + HOUR, complaint_id=f"CP-{entity}-2", category="billing"),
    ]


def _partner_compliance_sample(entity: str, start: float, run: int) -> list[Event]:
    # Ten sales through partner PT: two with a banned phrase, and a mis-selling
    # complaint about a third: 3 of 10 flagged (p = 0.0009 at the 2% target).
    ids = (f"pc-{entity}-{run}-{i}" for i in itertools.count())
    partner = f"PT-{entity}"
    events = [sale(next(ids), "这款产品稳赚不赔" if i in (3, 6) else "保障全面，请仔细阅读条款", t=start + i * HOUR,
                   policy_id=f"P-{entity}-{i}", partner_id=partner) for i in range(10)]
    events.append(complaint(next(ids), t=start + 10 * HOUR, policy_id=f"P-{entity}-8", partner_id=partner))
    return events


def _partner_contract_sample(entity: str, start: float, run: int) -> list[Event]:
    # Ten policies through partner PT, four at 0.28 where the contract says
    # 0.25 (12% off each): mean deviation 4.8%, above 2%, over 10 policies.
    ids = (f"pk-{entity}-{run}-{i}" for i in itertools.count())
    return [policy_event(next(ids), "policy_issued", t=start + i * HOUR, policy_id=f"P-{entity}-{i}",
                         partner_id=f"PT-{entity}", commission_rate=0.28 if i % 3 == 0 else 0.25,
                         contract_commission_rate=0.25) for i in range(10)]


def _fund_flow_ids(prefix: str, entity: str, run: int):
    return (f"{prefix}-{entity}-{run}-{i}" for i in itertools.count())


def _third_party_payer_sample(entity: str, start: float, run: int) -> list[Event]:
    # The policyholder's account is known only from policy_issued: an own
    # premium (dropped), a third-party transfer (low), then third-party cash (medium).
    ids, policy, holder = _fund_flow_ids("tp", entity, run), f"P-{entity}", f"ACC-{entity}"
    return [
        policy_event(next(ids), "policy_issued", t=start, policy_id=policy, policyholder_account_id=holder),
        payment(next(ids), 3_000.0, t=start + HOUR, account=holder, channel="mobile", policy_id=policy),
        payment(next(ids), 3_000.0, t=start + 2 * HOUR, account=f"{holder}-uncle", channel="mobile",
                policy_id=policy),
        payment(next(ids), 3_000.0, t=start + 5 * HOUR, account=f"{holder}-cash", policy_id=policy,
                policyholder_account_id=holder),
    ]


def _multiple_payers_sample(entity: str, start: float, run: int) -> list[Event]:
    # The policyholder (account 0) and four others within a day: medium at the second other, high at the fourth.
    ids, policy = _fund_flow_ids("mp", entity, run), f"P-{entity}"
    return [payment(next(ids), 2_000.0, t=start + i * HOUR, account=f"ACC-{entity}-{i % 5}", policy_id=policy,
                    policyholder_account_id=f"ACC-{entity}-0") for i in (0, 1, 2, 5, 3, 4)]


def _rapid_in_out_sample(entity: str, start: float, run: int) -> list[Event]:
    # 120,000 CNY in from one account, refunded three days later to another (critical).
    ids, policy = _fund_flow_ids("ri", entity, run), f"P-{entity}"
    return [
        payment(next(ids), 100_000.0, t=start, account=f"ACC-{entity}", channel="bank_transfer", policy_id=policy),
        payment(next(ids), 20_000.0, t=start + HOUR, account=f"ACC-{entity}", channel="bank_transfer",
                policy_id=policy),
        payout(next(ids), "refund", 120_000.0, t=start + 3 * DAY, payee=f"ACC-{entity}-new", policy_id=policy),
    ]


def _fan_out_sample(entity: str, start: float, run: int) -> list[Event]:
    # One account pays for five other policyholders (medium at the fourth) and its own policy (not counted).
    ids, account = _fund_flow_ids("fo", entity, run), f"ACC-{entity}"
    events = [payment(next(ids), 5_000.0, t=start + i * HOUR, account=account, channel="bank_transfer",
                      policy_id=f"P-{entity}-{i}", customer_id=f"C-{entity}-{i}",
                      policyholder_account_id=f"ACC-{entity}-{i}") for i in range(5)]
    events.insert(2, payment(next(ids), 5_000.0, t=start + 1.5 * HOUR, account=account, channel="bank_transfer",
                             policy_id=f"P-{entity}-own", policyholder_account_id=account))
    return events


def _fan_in_sample(entity: str, start: float, run: int) -> list[Event]:
    # One account receives payouts of four others' policies (medium at the fourth) and of its own.
    ids, account = _fund_flow_ids("fi", entity, run), f"ACC-{entity}"
    kinds = ("surrender_payout", "refund", "claim_payout", "surrender_payout")
    events = [payout(next(ids), kind, 30_000.0, t=start + i * HOUR, payee=account, policy_id=f"P-{entity}-{i}",
                     policyholder_account_id=f"ACC-{entity}-{i}") for i, kind in enumerate(kinds)]
    events.insert(1, payout(next(ids), "claim_payout", 2_000.0, t=start + 0.5 * HOUR, payee=account,
                            policy_id=f"P-{entity}-own", policyholder_account_id=account))
    return events


def _amount_anomaly_customer_sample(entity: str, start: float, run: int) -> list[Event]:
    # Five premiums of 1,000 to 1,400 CNY, then 152,500 CNY (medium: not round, no burst).
    ids, customer = _fund_flow_ids("ac", entity, run), f"C-{entity}"
    amounts = (1_000.0, 1_200.0, 1_100.0, 1_400.0, 1_050.0, 152_500.0)
    return [payment(next(ids), amount, t=start + i * 6 * HOUR, account=f"ACC-{entity}", channel="mobile",
                    customer_id=customer) for i, amount in enumerate(amounts)]


def _amount_anomaly_product_sample(entity: str, start: float, run: int) -> list[Event]:
    # Thirty premiums of 2,000 to 3,450 CNY on one product, then one of 500,000 (round: high).
    ids, product = _fund_flow_ids("ap", entity, run), f"PD-{entity}"
    events = [payment(next(ids), 2_000.0 + 50 * i, t=start + i * 600.0, account=f"ACC-{entity}-{i}",
                      channel="mobile", customer_id=f"C-{entity}-{i}", product_id=product) for i in range(30)]
    return events + [payment(next(ids), 500_000.0, t=start + 30 * 600.0, account=f"ACC-{entity}-big",
                             channel="bank_transfer", product_id=product)]


def _claim_payee_mismatch_sample(entity: str, start: float, run: int) -> list[Event]:
    # Claims to a beneficiary (fine), to a stranger (medium), and one judged from policy_issued (high).
    ids, policy, holder = _fund_flow_ids("cm", entity, run), f"P-{entity}", f"ACC-{entity}"
    known = {"policyholder_account_id": holder, "beneficiary_account_ids": [f"{holder}-child"]}
    return [
        policy_event(next(ids), "policy_issued", t=start, policy_id=policy, **known),
        payout(next(ids), "claim_payout", 6_000.0, t=start + DAY, payee=f"{holder}-child", policy_id=policy, **known),
        payout(next(ids), "claim_payout", 8_000.0, t=start + 2 * DAY, payee=f"ACC-{entity}-x", policy_id=policy,
               **known),
        payout(next(ids), "claim_payout", 60_000.0, t=start + 3 * DAY, payee=f"ACC-{entity}-y", policy_id=policy),
    ]


def _early_claim_sample(entity: str, start: float, run: int) -> list[Event]:
    # A claim two days after issue (high), and a second one that does not alert again.
    ids, policy = _fund_flow_ids("ec", entity, run), f"P-{entity}"
    return [
        policy_event(next(ids), "policy_issued", t=start, policy_id=policy),
        payout(next(ids), "claim_payout", 9_000.0, t=start + 2 * DAY, policy_id=policy),
        payout(next(ids), "claim_payout", 4_000.0, t=start + 5 * DAY, policy_id=policy),
    ]


def _round_tripping_sample(entity: str, start: float, run: int) -> list[Event]:
    # A's policy surrenders to B, B's policy refunds to A: a cycle. C pays D's policy, refunded to D: no cycle.
    ids = _fund_flow_ids("rt", entity, run)
    a, b, c, d = (f"ACC-{entity}-{x}" for x in "ABCD")
    return [
        payout(next(ids), "surrender_payout", 80_000.0, t=start, payee=b, policy_id=f"P-{entity}-1",
               customer_id=f"C-{entity}-1", policyholder_account_id=a),
        payment(next(ids), 20_000.0, t=start + HOUR, account=c, channel="bank_transfer", policy_id=f"P-{entity}-3",
                customer_id=f"C-{entity}-3", policyholder_account_id=d),
        payout(next(ids), "refund", 20_000.0, t=start + 2 * HOUR, payee=d, policy_id=f"P-{entity}-3",
               customer_id=f"C-{entity}-3", policyholder_account_id=d),
        payout(next(ids), "refund", 75_000.0, t=start + DAY, payee=a, policy_id=f"P-{entity}-2",
               customer_id=f"C-{entity}-2", policyholder_account_id=b),
    ]


def _structuring_customer_sample(entity: str, start: float, run: int) -> list[Event]:
    # One customer's cash just under 50,000 from three accounts, none with three payments:
    # high at the third payment, critical at the fifth.
    ids, customer = _fund_flow_ids("sc", entity, run), f"C-{entity}"
    accounts = ("A", "B", "C", "A", "B")
    return [payment(next(ids), 45_000.0 + i, t=start + i * 6 * HOUR, account=f"ACC-{entity}-{a}",
                    customer_id=customer, policy_id=f"P-{entity}-{i % 2}") for i, a in enumerate(accounts)]


def _standing(entity: str, status: str = "active", since: float = T0, **extra) -> PartnerStanding:
    return PartnerStanding(f"agency-{entity}", f"B-{entity}", status, "registry note", since, **extra)


def _partner_standing_sample(barred: bool) -> SampleStream:
    # Partner P sells before and after it is barred (or its qualification lapses) at start + 2 h:
    # the sales after are one alert on P; a partner in good standing never alerts.
    def make(entity: str, start: float, run: int) -> list[Event]:
        ids = (f"ps-{entity}-{run}-{i}" for i in itertools.count())
        change = start + 2 * HOUR
        events = []
        for i in range(5):
            t = start + i * HOUR
            if barred:
                standing = _standing(entity, "blacklisted" if t >= change else "active", change if t >= change else T0)
            else:
                standing = _standing(entity, qualification_valid_until=change)
            events.append(sale(next(ids), None, t=t, policy_id=f"P-{entity}-{i}", partner_id=f"PT-{entity}",
                               partner=standing))
            events.append(sale(next(ids), None, t=t, policy_id=f"Q-{entity}-{i}", partner_id=f"PT-{entity}-ok",
                               partner=_standing(entity)))
        return events
    return make


def _partner_peers_sample(counted: str, exposure: str, exposure_fields: dict | None = None,
                          **counted_fields) -> SampleStream:
    # As the agent peers' sample, one level up: partner A of a type, 12 counted in 40 of exposure
    # (a partner is judged on 30 at least); partner B of the same type 10 of exposure, nothing counted.
    def make(entity: str, start: float, run: int) -> list[Event]:
        ids = (f"pp-{entity}-{run}-{i}" for i in itertools.count())

        def event(event_type: str, t: float, partner: str, **extra) -> Event:
            stream = {"complaint_filed": "complaint", "premium_paid": "payment", "claim_payout": "payment"}
            return Event(next(ids), event_type, stream.get(event_type, "policy"), t,
                         policy_id=f"P-{partner}-{t:.0f}", agent_id="A1", partner_id=partner,
                         partner=_standing(entity), **extra)

        more = exposure_fields or {}
        events = [event(exposure, start + i * HOUR, f"A-{entity}", **more) for i in range(40)]
        events += [event(counted, start + (2 + i) * HOUR + 60, f"A-{entity}", **counted_fields) for i in range(12)]
        events += [event(exposure, start + i * HOUR + 30, f"B-{entity}", **more) for i in range(10)]
        return sorted(events, key=lambda e: e.time)
    return make


def _partner_processing_sample(entity: str, start: float, run: int) -> list[Event]:
    # Partner A issues 40 policies, 12 of them more than a day (its target) after the sale;
    # partner B of the same type issues 10 within the hour.
    ids = (f"pt-{entity}-{run}-{i}" for i in itertools.count())
    standing = _standing(entity, processing_targets_s={"policy_issuance": DAY})
    events = []
    for partner, count, late in ((f"A-{entity}", 40, 12), (f"B-{entity}", 10, 0)):
        for i in range(count):
            policy, sold = f"P-{partner}-{i}", start + i * 60.0
            events.append(sale(next(ids), None, t=sold, policy_id=policy, partner_id=partner, partner=standing))
            events.append(policy_event(next(ids), "policy_issued", t=sold + (DAY + HOUR if i < late else HOUR),
                                       policy_id=policy, partner_id=partner, partner=standing))
    return sorted(events, key=lambda e: e.time)


def _branch_accountability_sample(entity: str, start: float, run: int) -> list[Event]:
    # Three confirmed critical findings on branch B within a year (high from the second) and a
    # confirmed high one that does not count. (Branch state lasts a year: one branch per entity.)
    def confirmed(i: int, days: float, tier: str = "critical", branch: str = f"B-{entity}") -> Event:
        return Event(f"ba-{entity}-{run}-{i}", "alert_confirmed", "complaint", start + days * DAY,
                     branch_id=branch, tier=tier, alert_id=f"AL-{entity}-{i}", typology="partner_barred_business")
    return [confirmed(0, 0), confirmed(1, 1, "high"), confirmed(2, 2),
            confirmed(3, 3), confirmed(4, 4)]


SAMPLE_STREAMS: dict[str, SampleStream] = {
    "third_party_payer": _third_party_payer_sample,
    "multiple_payers": _multiple_payers_sample,
    "rapid_in_out": _rapid_in_out_sample,
    "fan_out": _fan_out_sample,
    "fan_in": _fan_in_sample,
    "amount_anomaly_customer": _amount_anomaly_customer_sample,
    "amount_anomaly_product": _amount_anomaly_product_sample,
    "claim_payee_mismatch": _claim_payee_mismatch_sample,
    "early_claim": _early_claim_sample,
    "round_tripping": _round_tripping_sample,
    "structuring_customer": _structuring_customer_sample,
    "callbacks": _callbacks_sample,
    "complaint_deadline": _complaint_deadline_sample,
    "claim_settlement": _claim_target_sample("motor", 3_200.0, 40 * 60.0, "claim_settled"),
    "claim_contact": _claim_target_sample("injury", 30_000.0, 73 * HOUR, "claim_contacted"),
    "region_claims_outlier": _region_claims_sample,
    "complaint_spike_branch": _complaint_level_spike_sample,
    "complaint_spike_product": _complaint_level_spike_sample,
    "complaint_spike_partner": _complaint_level_spike_sample,
    "mis_selling_complaint": _mis_selling_complaint_sample,
    "partner_compliance": _partner_compliance_sample,
    "partner_contract": _partner_contract_sample,
    "banned_phrases": _banned_phrases_sample,
    "structuring": _structuring_sample,
    "complaint_spike": _complaint_spike_sample,
    "suitability_risk_level": _suitability_sample(product_risk_level=4, customer_risk_tolerance=3),
    "suitability_elderly": _suitability_sample(customer_age=65, product_category="long_term_savings",
                                               product_risk_level=2),
    "suitability_affordability": _suitability_sample(premium=60_001.0),
    "agent_peers_cooling_off": _agent_peers_sample("cooling_off_cancelled", "sale_recorded"),
    "agent_peers_surrender": _agent_peers_sample("surrendered", "sale_recorded", policy_age_days=300),
    "agent_peers_callback_failure": _agent_peers_sample("callback_failed", "callback_completed"),
    "agent_peers_complaints": _agent_peers_sample("complaint_filed", "sale_recorded"),
    "churning": _churning_sample,
    "integrity_score": _integrity_score_sample,
    "partner_barred_business": _partner_standing_sample(barred=True),
    "partner_qualification_expired": _partner_standing_sample(barred=False),
    "partner_peers_processing_time": _partner_processing_sample,
    "partner_peers_complaints": _partner_peers_sample("complaint_filed", "sale_recorded"),
    "partner_peers_cooling_off": _partner_peers_sample("cooling_off_cancelled", "sale_recorded"),
    "partner_peers_loss_ratio": _partner_peers_sample("claim_payout", "premium_paid", {"amount": 10_000.0},
                                                      amount=50_000.0),
    "branch_accountability": _branch_accountability_sample,
}

DETECTOR_NAMES = sorted(REGISTRY)
PERSONAL_KEY = re.compile(r"name|phone|mobile|id_number|id_card|idcard|address|email")


def detector_named(name: str) -> Detector:
    """Built from the default config section, as the engine builds it."""
    return {d.name: d for d in build_detectors(DetectorConfig())}[name]


def sample(name: str, entity: str = "X", start: float = T0, run: int = 0) -> list[Event]:
    if name not in SAMPLE_STREAMS:
        pytest.fail(f"detector {name!r} is registered but has no sample stream: add one to SAMPLE_STREAMS")
    return SAMPLE_STREAMS[name](entity, start, run)


def findings(detector: Detector, events: list[Event]) -> list[Finding]:
    return feed(detector, events)[0]


def typologies(found: list[Finding]) -> set[tuple[str, str]]:
    return {(f.typology, f.entity_id) for f in found}


def test_registry_holds_the_shipped_detectors():
    assert {"banned_phrases", "structuring", "complaint_spike"} <= set(REGISTRY)


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_declares_its_interface(name):
    cls, config_attr = REGISTRY[name]
    assert cls.name == name
    assert isinstance(cls.version, str) and cls.version
    assert isinstance(cls.event_types, frozenset) and cls.event_types
    assert cls.keyspace is None or (isinstance(cls.keyspace, str) and cls.keyspace)
    assert hasattr(DetectorConfig(), config_attr), f"DetectorConfig has no section {config_attr!r}"
    assert cls.__doc__, f"{cls.__name__} needs a docstring with a runnable example"


@pytest.mark.parametrize("module", DETECTOR_MODULES, ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_sample_stream_exercises_the_detector(name):
    det = detector_named(name)
    events = sample(name)
    assert {e.event_type for e in events} <= det.event_types, "a sample holds only the detector's event types"
    assert len({e.event_id for e in events}) == len(events)
    assert findings(det, events), "the sample stream must make the detector fire"


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_deterministic(name):
    assert findings(detector_named(name), sample(name)) == findings(detector_named(name), sample(name))


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_state_round_trips_through_json_at_every_point(name):
    det = detector_named(name)
    events = sample(name)
    uninterrupted = findings(det, events)
    for cut in range(len(events) + 1):
        before, states = feed(det, events[:cut])
        restored = orjson.loads(orjson.dumps(states))
        assert restored == states, "state must survive JSON unchanged (no tuples, no non-str keys)"
        after, _ = feed(det, events[cut:], restored)
        assert before + after == uninterrupted, f"different findings after a restore at event {cut}"


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_duplicates_are_not_counted_twice(name):
    det = detector_named(name)
    events = sample(name)
    once = findings(det, events)
    twice = findings(det, [e for e in events for _ in range(2)])
    if det.keyspace is None:
        # Stateless: nothing to remember a delivery by, so a duplicate yields
        # the identical finding (the same alert id), which the alert layer dedupes.
        assert twice == [f for f in once for _ in range(2)]
    else:
        assert twice == once
        # The whole stream delivered again (a consumer restarting from an old offset).
        first, states = feed(det, events)
        again, _ = feed(det, events, states)
        assert again == []


def _orders(events: list[Event]) -> list[list[Event]]:
    """Other arrival orders of ``events``: all of them for a short sample,
    otherwise every adjacent swap, the reverse and a few seeded shuffles."""
    if len(events) <= 6:
        return [list(p) for p in itertools.permutations(events)]
    orders = []
    for i in range(len(events) - 1):
        swapped = list(events)
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        orders.append(swapped)
    orders.append(events[::-1])
    rng = random.Random(20231119)
    for _ in range(20):
        shuffled = list(events)
        rng.shuffle(shuffled)
        orders.append(shuffled)
    return orders


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_out_of_order_within_the_window_finds_the_same(name):
    det = detector_named(name)
    events = sample(name)
    expected = typologies(findings(det, events))
    for order in _orders(events):
        assert typologies(findings(det, order)) == expected, [e.event_id for e in order]


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_advancing_to_the_present_changes_nothing(name):
    """``advance`` only drops what has left the window: sweeping at each event's
    time between events of an in-order stream leaves the findings as they were."""
    det = detector_named(name)
    events = sample(name)
    states: dict = {}
    swept: list[Finding] = []
    for event in events:
        swept += feed(det, [event], states)[0]
        swept += advance_all(det, states, event.time)
    assert swept == findings(det, events)


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_state_is_bounded(name):
    """Many entities over five years, swept every 6 h of event time: only the
    entities seen recently keep state, and none is kept far past every window.

    Entities start 30 days apart, so at most 15 live at once means no entity is
    kept much longer than a year; a detector that must remember longer says why
    and changes this bound."""
    det = detector_named(name)
    entities = 60
    events = sorted(
        (e for k in range(entities) for e in sample(name, f"E{k}", T0 + k * 30 * DAY)),
        key=lambda e: e.time,
    )
    states: dict = {}
    live = []
    next_sweep = events[0].time
    for event in events:
        feed(det, [event], states)
        if event.time >= next_sweep:
            advance_all(det, states, event.time)
            next_sweep = event.time + 6 * HOUR
        live.append(len(states))
    assert max(live) <= entities // 4
    advance_all(det, states, events[-1].time + 10 * 365 * DAY)
    assert states == {}


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_state_of_one_entity_does_not_grow(name):
    """One entity active every week for a year and a half: its serialised state
    stays the size it had in the first months."""
    det = detector_named(name)
    states: dict = {}
    sizes = []
    for run in range(80):
        events = sample(name, "ONE", T0 + run * 7 * DAY, run)
        for event in events:
            feed(det, [event], states)
            advance_all(det, states, event.time)
            sizes.append(sum(len(orjson.dumps(s)) for s in states.values()))
    half = len(sizes) // 2
    assert max(sizes[half:]) <= 1.5 * max(sizes[:half]) + 64


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_findings_carry_evidence_and_no_personal_data(name):
    det = detector_named(name)
    events = sample(name)
    ids = {e.event_id for e in events}
    states: dict = {}
    seen = 0
    for event in events:
        for f in feed(det, [event], states)[0]:
            seen += 1
            assert (f.detector, f.detector_version) == (det.name, det.version)
            assert isinstance(f.tier, Tier)
            assert f.typology and f.tier_reason and f.summary and f.entity_type and f.entity_id
            if det.finding_entity is not None:
                assert f.entity_type == det.finding_entity
            elif det.keyspace is not None:
                assert (f.entity_type, f.entity_id) == (det.keyspace, det.key(event))
            assert f.event_time == event.time
            assert f.window_start <= f.event_time
            event_ids = f.evidence.get("event_ids")
            assert isinstance(event_ids, list) and event_ids and set(event_ids) <= ids
            assert event.event_id in event_ids
            orjson.dumps(f.evidence)  # published as JSON on the alert topic
            assert not _personal_keys(f.evidence), _personal_keys(f.evidence)
            for dimension in (f.branch_id, f.partner_id):
                assert dimension is None or isinstance(dimension, str)
    assert seen


def _personal_keys(value) -> list[str]:
    if isinstance(value, dict):
        found = [k for k in value if PERSONAL_KEY.search(k.lower())]
        return found + [k for v in value.values() for k in _personal_keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in _personal_keys(v)]
    return []


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_never_reads_the_clock(name, monkeypatch):
    def no_clock(*_args):
        raise AssertionError("detectors work on event time and never read the clock")

    for attr in ("time", "time_ns", "monotonic", "monotonic_ns"):
        monkeypatch.setattr(time, attr, no_clock)
    det = detector_named(name)
    states: dict = {}
    for event in sample(name):
        feed(det, [event], states)
        advance_all(det, states, event.time + 400 * DAY)
