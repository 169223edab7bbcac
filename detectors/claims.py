"""Claims: a payout to someone it should not go to, and a claim soon after inception.

Two detectors per policy, watching ``policy_issued`` and ``claim_payout``, on
one shared core (:class:`PolicyClaimDetector`) that keeps the policy's facts
(:mod:`detectors.policy_facts`) and the recent claims, and judges each claim
once it can: when it arrives, or when the ``policy_issued`` it needs arrives
after it.

* ``claim_payee_mismatch``: a claim paid to an account that is neither the
  policyholder's nor a named beneficiary's (from the payout itself, or from
  the policy's ``policy_issued``). ``medium``; ``high`` from
  ``high_amount_cny`` (50,000). One alert per claim. A claim whose accounts
  are unknown (no fields on the payout, no ``policy_issued`` seen) is not
  judged.
* ``early_claim``: a claim paid within ``period_s`` (90 days) of the policy's
  issue, known from its ``policy_issued`` event. ``medium``; ``high`` within
  ``high_within_s`` (30 days). One alert per policy (its window starts at the
  issue). A policy issued before the stream began has no known inception and
  is not judged.
"""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

from detectors import policy_facts
from detectors.base import Detector, Finding, State, Tier, earliest, register
from detectors.episodes import behind
from detectors.events import Event

DAY = 86_400.0
CLAIM = "claim_payout"
UNDECIDED, CLEARED, FLAGGED = 0, 1, 2


@dataclass(frozen=True, slots=True)
class ClaimPayeeMismatchConfig:
    #: How long facts of a ``policy_issued`` (and claims awaiting them) are kept.
    retention_s: float = 30 * DAY
    tier: str = Tier.MEDIUM.value
    #: Claims of at least this many CNY paid to a stranger are high.
    high_amount_cny: float = 50_000.0

    def __post_init__(self) -> None:
        if self.retention_s <= 0 or self.high_amount_cny <= 0:
            raise ValueError("retention_s and high_amount_cny must be positive")
        Tier(self.tier)


@dataclass(frozen=True, slots=True)
class EarlyClaimConfig:
    #: A claim paid within this long after the policy's issue is early.
    period_s: float = 90 * DAY
    #: Within this long it is high.
    high_within_s: float = 30 * DAY
    tier: str = Tier.MEDIUM.value

    def __post_init__(self) -> None:
        if not 0 < self.high_within_s <= self.period_s:
            raise ValueError("0 < high_within_s <= period_s")
        Tier(self.tier)


# State: {"i": policy facts or None,
#         "c": [[time, amount, payee, event_id, holder, beneficiaries, verdict], ...] claims, sorted by time;
#              verdict 0 undecided, 1 cleared, 2 flagged}
class PolicyClaimDetector(Detector):
    """Core of the claim detectors: facts, claims, and judging each claim once."""

    version = "1"
    event_types = frozenset({policy_facts.ISSUED, CLAIM})
    keyspace = "policy"

    def key(self, event: Event) -> str | None:
        return event.policy_id

    @property
    @abstractmethod
    def retention_s(self) -> float:
        """How long facts and claims are kept (seconds)."""

    @abstractmethod
    def judge(self, state: dict, claim: list, event: Event) -> Finding | None | bool:
        """A finding, ``False`` to clear the claim, or ``None`` when it cannot be judged yet."""

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        state = state or {"i": None, "c": []}
        if event.event_type == policy_facts.ISSUED:
            policy_facts.remember(state, event)
        else:
            if any(c[3] == event.event_id for c in state["c"]):
                return state, []
            state["c"].append([event.time, event.amount, event.payee_account_id, event.event_id,
                               event.policyholder_account_id, sorted(event.beneficiary_account_ids or [])])
            state["c"][-1].append(UNDECIDED)
            state["c"].sort(key=lambda c: (c[0], c[3]))
        findings = []
        for claim in state["c"]:
            if claim[6] != UNDECIDED:
                continue
            verdict = self.judge(state, claim, event)
            if verdict is None:
                continue
            if verdict is False:
                claim[6] = CLEARED
            else:
                claim[6] = FLAGGED
                findings.append(verdict)
        return state, findings

    def finding(self, event: Event, claim: list, *, typology: str, tier: Tier, reason: str, anchor: float,
                score: float, summary: str, evidence: dict) -> Finding:
        return Finding(
            detector=self.name, detector_version=self.version, typology=typology, tier=tier, tier_reason=reason,
            entity_type="policy", entity_id=event.policy_id or "", window_start=anchor, event_time=event.time,
            score=score, summary=summary,
            evidence={"policy_id": event.policy_id, "customer_id": event.customer_id, "claim_cny": claim[1],
                      "payee_account_id": claim[2], **evidence, "event_ids": behind([claim[3]], event.event_id)},
            branch_id=event.branch_id, partner_id=event.partner_id,
        )

    def advance(self, state: State, watermark: float) -> tuple[State, list[Finding]]:
        if not state:
            return None, []
        horizon = watermark - self.retention_s
        policy_facts.forget_after(state, horizon)
        state["c"] = [c for c in state["c"] if c[0] >= horizon]
        if state["i"] is None and not state["c"]:
            return None, []
        return state, []

    def due(self, state: State) -> float:
        facts = state["i"]
        return earliest([] if facts is None else [facts["t"]], (c[0] for c in state["c"])) + self.retention_s


@register("claim_payee_mismatch")
class ClaimPayeeMismatchDetector(PolicyClaimDetector):
    """Flags a claim paid to an account that is neither the policyholder's nor
    a beneficiary's; state per policy.

    >>> from detectors.events import Event
    >>> d = ClaimPayeeMismatchDetector(ClaimPayeeMismatchConfig())
    >>> paid = Event("e1", "claim_payout", "payment", 0.0, policy_id="P1", amount=8_000.0,
    ...              payee_account_id="ACC9", policyholder_account_id="ACC1", beneficiary_account_ids=["ACC2"])
    >>> _, [found] = d.observe(paid, None)
    >>> found.tier.value, found.evidence["known_accounts"]
    ('medium', ['ACC1', 'ACC2'])
    """

    name = "claim_payee_mismatch"
    typologies = ("claim_payee_mismatch",)

    def __init__(self, config: ClaimPayeeMismatchConfig) -> None:
        self.config = config

    @property
    def retention_s(self) -> float:
        return self.config.retention_s

    def judge(self, state: dict, claim: list, event: Event) -> Finding | None | bool:
        holder = policy_facts.holder_account(state, claim[4])
        beneficiaries = policy_facts.beneficiary_accounts(state, claim[5])
        if holder is None and not beneficiaries:
            return None
        known = sorted({holder, *beneficiaries} - {None})
        if claim[2] in known:
            return False
        cfg = self.config
        high = claim[1] >= cfg.high_amount_cny
        return self.finding(
            event, claim, typology="claim_payee_mismatch", tier=Tier.HIGH if high else Tier(cfg.tier),
            reason=(f"claim of at least {cfg.high_amount_cny:,.0f} CNY paid to a third party" if high
                    else "claim paid to an account neither the policyholder's nor a beneficiary's"),
            anchor=claim[0], score=claim[1] / cfg.high_amount_cny,
            summary=(f"policy {event.policy_id}: claim of {claim[1]:,.2f} CNY paid to {claim[2]}, "
                     "not the policyholder's or a beneficiary's account"),
            evidence={"policyholder_account_id": holder, "known_accounts": known},
        )


@register("early_claim")
class EarlyClaimDetector(PolicyClaimDetector):
    """Flags a policy with a claim paid soon after its issue; state per policy.

    >>> from detectors.events import Event
    >>> d = EarlyClaimDetector(EarlyClaimConfig())
    >>> issued = Event("e1", "policy_issued", "policy", 0.0, policy_id="P1")
    >>> paid = Event("e2", "claim_payout", "payment", 3 * 86_400.0, policy_id="P1", amount=8_000.0)
    >>> state, _ = d.observe(issued, None)
    >>> _, [found] = d.observe(paid, state)
    >>> found.tier.value, found.evidence["days_after_issue"]
    ('high', 3.0)
    """

    name = "early_claim"
    typologies = ("early_claim",)

    def __init__(self, config: EarlyClaimConfig) -> None:
        self.config = config

    @property
    def retention_s(self) -> float:
        return self.config.period_s

    def judge(self, state: dict, claim: list, event: Event) -> Finding | None | bool:
        issued = policy_facts.issued_at(state)
        if issued is None:
            return None
        after = claim[0] - issued
        cfg = self.config
        if not 0 <= after <= cfg.period_s or any(c[6] == FLAGGED for c in state["c"]):
            return False  # not early, or this policy has been flagged already
        high = after <= cfg.high_within_s
        days = after / DAY
        return self.finding(
            event, claim, typology="early_claim", tier=Tier.HIGH if high else Tier(cfg.tier),
            reason=(f"claim within {cfg.high_within_s / DAY:.0f} days of issue" if high
                    else f"claim within {cfg.period_s / DAY:.0f} days of issue"),
            anchor=issued, score=cfg.period_s / max(after, 3600.0),
            summary=f"policy {event.policy_id}: claim of {claim[1]:,.2f} CNY paid {days:.1f} days after issue",
            evidence={"issued_time": issued, "days_after_issue": round(days, 2)},
        )
