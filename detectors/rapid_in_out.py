"""Rapid in and out: a large premium, soon paid back out by a refund or an early surrender.

Per policy, premiums and payouts (``refund``: a cooling-off cancellation;
``surrender_payout``) of the last ``window_s`` (default 90 days, which holds
the 15-day cooling-off period and early surrenders) are kept. A payout fires
when the premiums paid on the policy in the ``window_s`` before it total at
least ``min_premium_cny`` (50,000) and the payout returns at least
``min_out_share`` (half) of them. The policy is flagged once per episode:
``medium`` when the money goes back to an account it came from, ``critical``
when it goes out to an account none of the premiums came from (the classic
way to turn dirty money into an insurer's clean payment); a later payout to a
new account raises the same alert to critical.

Order-robust: a premium that arrives after the payout it funded is checked
against the payouts kept, so replay order does not matter. Premiums under
``min_tracked_cny`` (5,000) are neither kept nor re-keyed: it would take more
than ten of them within the window to reach the floor, a pattern for the
structuring and amount detectors rather than a single large premium paid back.
State is kept per policy that received such a premium or a payout within the
window (at most ``max_premiums`` premiums each), on the policy's partition.
"""
from __future__ import annotations

from dataclasses import dataclass

from detectors.base import Detector, Finding, State, Tier, earliest, register
from detectors.episodes import behind, claim, forget, window_start
from detectors.events import Event

TYPOLOGY = "rapid_in_out"
DAY = 86_400.0
OUT = frozenset({"refund", "surrender_payout"})


@dataclass(frozen=True, slots=True)
class RapidInOutConfig:
    #: Longest time from the premiums to the payout.
    window_s: float = 90 * DAY
    #: Premiums within the window before the payout must total at least this (CNY).
    min_premium_cny: float = 50_000.0
    #: The payout must return at least this share of those premiums.
    min_out_share: float = 0.5
    tier: str = Tier.MEDIUM.value
    #: Premiums kept per policy (the newest).
    max_premiums: int = 32
    #: Smaller premiums (CNY) are not kept.
    min_tracked_cny: float = 5_000.0

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.min_premium_cny <= 0 or not 0 < self.min_out_share <= 1:
            raise ValueError("window_s and min_premium_cny must be positive, min_out_share in (0, 1]")
        if self.max_premiums < 1 or not 0 <= self.min_tracked_cny <= self.min_premium_cny:
            raise ValueError("max_premiums must be positive and 0 <= min_tracked_cny <= min_premium_cny")
        Tier(self.tier)


# State: {"p": [[time, amount, payer, event_id], ...] premiums, sorted by time,
#         "o": [[time, amount, payee, event_id, event_type], ...] payouts, sorted by time,
#         "f": [[anchor, end, tier rank], ...] episodes flagged}
@register("rapid_in_out")
class RapidInOutDetector(Detector):
    """Flags a policy whose large premium is refunded or surrendered soon
    after; state per policy.

    >>> from detectors.events import Event
    >>> d = RapidInOutDetector(RapidInOutConfig())
    >>> pay = Event("e1", "premium_paid", "payment", 0.0, policy_id="P1", amount=200_000.0, payer_account_id="ACC1")
    >>> out = Event("e2", "refund", "payment", 5 * 86_400.0, policy_id="P1", amount=200_000.0,
    ...             payee_account_id="ACC7")
    >>> state, _ = d.observe(pay, None)
    >>> _, [found] = d.observe(out, state)
    >>> found.tier.value, found.evidence["days_in_force"]
    ('critical', 5.0)
    """

    name = "rapid_in_out"
    typologies = (TYPOLOGY,)
    version = "1"
    event_types = frozenset({"premium_paid"}) | OUT
    keyspace = "policy"

    def __init__(self, config: RapidInOutConfig) -> None:
        self.config = config

    def key(self, event: Event) -> str | None:
        if event.amount is None or (event.event_type == "premium_paid" and event.amount < self.config.min_tracked_cny):
            return None
        return event.policy_id

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        if self.key(event) is None:
            return state, []
        state = state or {"p": [], "o": [], "f": []}
        if any(x[3] == event.event_id for x in state["p"] + state["o"]):
            return state, []
        if event.event_type == "premium_paid":
            state["p"].append([event.time, event.amount, event.payer_account_id, event.event_id])
            state["p"].sort(key=lambda p: (p[0], p[3]))
            del state["p"][: -self.config.max_premiums]
        else:
            state["o"].append([event.time, event.amount, event.payee_account_id, event.event_id, event.event_type])
            state["o"].sort(key=lambda o: (o[0], o[3]))
        findings = []
        for payout in state["o"]:
            finding = self._check(state, payout, event)
            if finding is not None:
                findings.append(finding)
        return state, findings

    def _check(self, state: dict, payout: list, event: Event) -> Finding | None:
        cfg = self.config
        at, amount, payee = payout[0], payout[1], payout[2]
        premiums = [p for p in state["p"] if at - cfg.window_s <= p[0] <= at]
        total = round(sum(p[1] for p in premiums), 2)
        if total < cfg.min_premium_cny or amount < cfg.min_out_share * total:
            return None
        payers = sorted({p[2] for p in premiums if p[2] is not None})
        elsewhere = payee not in payers
        tier = Tier.CRITICAL if elsewhere else Tier(cfg.tier)
        flag = claim(state["f"], premiums[0][0], at, tier.rank)
        if flag is None:
            return None
        days = (at - premiums[0][0]) / DAY
        kind = "refund" if payout[4] == "refund" else "surrender payout"
        return Finding(
            detector=self.name,
            detector_version=self.version,
            typology=TYPOLOGY,
            tier=tier,
            tier_reason=("paid out to an account none of the premiums came from" if elsewhere
                         else f"{kind} of a large premium within {cfg.window_s / DAY:.0f} days"),
            entity_type="policy",
            entity_id=event.policy_id or "",
            window_start=window_start(flag[0], cfg.window_s),
            event_time=event.time,
            score=total / cfg.min_premium_cny,
            summary=(f"policy {event.policy_id}: {total:,.2f} CNY of premiums, {kind} of {amount:,.2f} CNY to "
                     f"{payee} {days:.1f} days later"),
            evidence={
                "policy_id": event.policy_id,
                "customer_id": event.customer_id,
                "premiums_cny": [p[1] for p in premiums],
                "premium_total_cny": total,
                "payer_account_ids": payers,
                "payout_type": payout[4],
                "payout_cny": amount,
                "payee_account_id": payee,
                "days_in_force": round(days, 2),
                "event_ids": behind([p[3] for p in premiums] + [payout[3]], event.event_id),
            },
            branch_id=event.branch_id,
            partner_id=event.partner_id,
        )

    def advance(self, state: State, watermark: float) -> tuple[State, list[Finding]]:
        if not state:
            return None, []
        horizon = watermark - self.config.window_s
        state["p"] = [p for p in state["p"] if p[0] >= horizon]
        state["o"] = [o for o in state["o"] if o[0] >= horizon]
        state["f"] = forget(state["f"], horizon)
        if not state["p"] and not state["o"] and not state["f"]:
            return None, []
        return state, []

    def due(self, state: State) -> float:
        window = self.config.window_s
        return earliest((p[0] + window for p in state["p"]), (o[0] + window for o in state["o"]),
                        (f[1] + window for f in state["f"]))
