"""Third-party payer: a premium paid from an account that is not the policyholder's.

Per policy, premiums whose payer account differs from the policyholder's own
account are kept for ``window_s`` (default 30 days) of event time, and the
policy is flagged once per window. The policyholder's account comes from the
payment (``policyholder_account_id``, filled from the policy record) or, when
the payment lacks it, from the policy's ``policy_issued`` event, whose facts
are kept for ``facts_retention_s``; a premium that cannot be judged yet waits
that long for them (so a payment that overtakes its ``policy_issued`` is still
judged).

Tier: ``low`` by default: identifying who pays, and why, is a know-your-
customer duty and most third-party payers are relatives. ``medium`` when any
third-party premium in the window is at least ``medium_amount_cny`` (20,000)
or paid through one of ``medium_channels`` (cash), raised on the same alert.
A parent paying for a child's policy as its policyholder is not a third party.
Several different payers on one policy are ``multiple_payers``
(:mod:`detectors.counterparts`); a premium paid back out to another account is
``rapid_in_out``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from detectors import policy_facts
from detectors.base import Detector, Finding, State, Tier, earliest, register
from detectors.episodes import behind, claim, forget, window_start
from detectors.events import Event

TYPOLOGY = "third_party_payer"
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class ThirdPartyPayerConfig:
    #: One alert per policy within this window.
    window_s: float = 30 * DAY
    #: How long the facts of a ``policy_issued`` event (and premiums awaiting them) are kept.
    facts_retention_s: float = 30 * DAY
    tier: str = Tier.LOW.value
    #: A third-party premium of at least this many CNY raises the tier to medium...
    medium_amount_cny: float = 20_000.0
    #: ...as does one paid through any of these channels.
    medium_channels: list[str] = field(default_factory=lambda: ["cash"])

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.facts_retention_s <= 0 or self.medium_amount_cny <= 0:
            raise ValueError("window_s, facts_retention_s and medium_amount_cny must be positive")
        Tier(self.tier)


# State: {"i": policy facts (detectors.policy_facts) or None,
#         "p": [[time, payer, amount, channel, event_id, holder from the event or None], ...]
#              premiums from another account than the holder's, or not judged yet,
#         "f": [[anchor, end, tier rank], ...] episodes flagged}
@register("third_party_payer")
class ThirdPartyPayerDetector(Detector):
    """Flags a policy whose premium comes from an account other than the
    policyholder's; state per policy.

    >>> from detectors.events import Event
    >>> d = ThirdPartyPayerDetector(ThirdPartyPayerConfig())
    >>> pay = Event("e1", "premium_paid", "payment", 0.0, policy_id="P1", customer_id="C1", amount=3_000.0,
    ...             channel="mobile", payer_account_id="ACC2", policyholder_account_id="ACC1")
    >>> _, [found] = d.observe(pay, None)
    >>> found.tier.value, found.evidence["payer_account_ids"]
    ('low', ['ACC2'])
    """

    name = "third_party_payer"
    typologies = (TYPOLOGY,)
    version = "1"
    event_types = frozenset({"premium_paid", policy_facts.ISSUED})
    keyspace = "policy"

    def __init__(self, config: ThirdPartyPayerConfig) -> None:
        self.config = config

    def key(self, event: Event) -> str | None:
        if event.event_type == "premium_paid":
            if event.payer_account_id is None or event.payer_account_id == event.policyholder_account_id:
                return None  # the policyholder's own account: nothing to keep
        return event.policy_id

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        if event.event_type == policy_facts.ISSUED:
            state = state or {"i": None, "p": [], "f": []}
            policy_facts.remember(state, event)
        else:
            if event.payer_account_id is None or event.payer_account_id == event.policyholder_account_id:
                return state, []
            state = state or {"i": None, "p": [], "f": []}
            if any(p[4] == event.event_id for p in state["p"]):
                return state, []
            state["p"].append([event.time, event.payer_account_id, event.amount, event.channel, event.event_id,
                               event.policyholder_account_id])
            state["p"].sort(key=lambda p: (p[0], p[4]))
        return state, self._judge(state, event)

    @staticmethod
    def _holder(state: dict, premium: list) -> str | None:
        return policy_facts.holder_account(state, premium[5])

    def _judge(self, state: dict, event: Event) -> list[Finding]:
        cfg = self.config
        # Premiums the facts now show to be from the policyholder's own account are dropped.
        state["p"] = [p for p in state["p"] if self._holder(state, p) is None or p[1] != self._holder(state, p)]
        third = [p for p in state["p"] if self._holder(state, p) is not None]
        if not third:
            return []
        newest = third[-1][0]
        group = [p for p in third if p[0] >= newest - cfg.window_s]
        medium = any((p[2] or 0.0) >= cfg.medium_amount_cny or p[3] in cfg.medium_channels for p in group)
        tier = Tier.MEDIUM if medium and Tier(cfg.tier).rank < Tier.MEDIUM.rank else Tier(cfg.tier)
        flag = claim(state["f"], group[0][0], newest, tier.rank)
        if flag is None:
            return []
        holder = self._holder(state, group[-1])
        payers = sorted({p[1] for p in group})
        total = round(sum(p[2] or 0.0 for p in group), 2)
        return [Finding(
            detector=self.name,
            detector_version=self.version,
            typology=TYPOLOGY,
            tier=tier,
            tier_reason=(f"third-party premium of at least {cfg.medium_amount_cny:,.0f} CNY or by "
                         f"{'/'.join(cfg.medium_channels)}" if tier is Tier.MEDIUM and medium
                         else "premium paid from an account other than the policyholder's"),
            entity_type="policy",
            entity_id=event.policy_id or "",
            window_start=window_start(flag[0], cfg.window_s),
            event_time=event.time,
            score=float(len(group)),
            summary=(f"policy {event.policy_id}: {len(group)} premium(s) totalling {total:,.2f} CNY from "
                     f"{len(payers)} account(s) other than the policyholder's {holder}"),
            evidence={
                "policy_id": event.policy_id,
                "customer_id": event.customer_id,
                "policyholder_account_id": holder,
                "payer_account_ids": payers,
                "amounts_cny": [p[2] for p in group],
                "channels": [p[3] for p in group],
                "total_cny": total,
                "first_time": group[0][0],
                "event_ids": behind([p[4] for p in group], event.event_id),
            },
            branch_id=event.branch_id,
            partner_id=event.partner_id,
        )]

    def advance(self, state: State, watermark: float) -> tuple[State, list[Finding]]:
        if not state:
            return None, []
        cfg = self.config
        policy_facts.forget_after(state, watermark - cfg.facts_retention_s)
        # Judged premiums leave with the window; premiums awaiting facts wait as long as facts are kept.
        state["p"] = [p for p in state["p"]
                      if p[0] >= watermark - (cfg.window_s if self._holder(state, p) else cfg.facts_retention_s)]
        state["f"] = forget(state["f"], watermark - cfg.window_s)
        if state["i"] is None and not state["p"] and not state["f"]:
            return None, []
        return state, []

    def due(self, state: State) -> float:
        cfg = self.config
        facts = state["i"]
        # Until the facts go (their own due time), each premium's holder stays as it is now.
        return earliest([] if facts is None else [facts["t"] + cfg.facts_retention_s],
                        (p[0] + (cfg.window_s if self._holder(state, p) else cfg.facts_retention_s)
                         for p in state["p"]),
                        (f[1] + cfg.window_s for f in state["f"]))
