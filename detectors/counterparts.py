"""Too many distinct counterparts within a window: fan-out, fan-in, multiple payers.

Three detectors share one core (:class:`DistinctCounterpartsDetector`): per
entity, the distinct counterparts seen within ``window_s`` of event time are
counted with :class:`detectors.sketches.WindowedDistinct` (exact up to
``exact_cap`` counterparts, a HyperLogLog estimate beyond, so an account with a
million counterparties costs a few kilobytes). At ``min_counterparts`` within
one window the entity is flagged at the configured tier; if the episode goes on
to ``high_counterparts``, the same alert (same window start) is raised to high.

* ``fan_out`` (per payer account): an account paying premiums on policies of
  many policyholders other than itself (an agent paying customers' premiums, a
  front paying in for many people). A premium from the policyholder's own
  account is not counted; when the payment does not say whose the policy is,
  it is counted (the account's own policies add at most one policyholder).
* ``fan_in`` (per payee account): an account receiving refunds, surrender
  payouts or claim payouts of many policies that are not its own (the
  payout must say whose the policy is: ``policyholder_account_id``).
* ``multiple_payers`` (per policy): premiums on one policy from several
  different accounts other than the policyholder's own (the policyholder's
  own payments are not counted, so "the policyholder and two others" is two).

Defaults (30 days; fan-out and fan-in 4 counterparts, high from 8; multiple
payers 2 accounts besides the policyholder's, high from 4): a family paying
for two or three relatives' policies, or a policy paid from the
policyholder's and a spouse's account, stays below. Fan-in and multiple payers
count only payments that say whose the policy is and are not the
policyholder's; fan-out counts policyholders, so a payment that does not say
is counted (an account's own policies add one policyholder at most).

Each detector re-keys only the payments it counts, by its own entity: fan-out
by payer account, fan-in by payee account, multiple payers by policy; a
premium from the policyholder's own account is forwarded for none of them.
"""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from detectors.base import Detector, Finding, State, Tier, earliest, register
from detectors.episodes import behind, claim, forget, window_start
from detectors.events import Event
from detectors.sketches import WindowedDistinct

DAY = 86_400.0
PAYOUTS = frozenset({"refund", "surrender_payout", "claim_payout"})
#: At most this many counterpart ids are quoted in an alert's evidence.
MAX_QUOTED = 20


@dataclass(frozen=True, slots=True)
class CounterpartConfig:
    window_s: float = 30 * DAY
    #: Distinct counterparts within the window that raise an alert...
    min_counterparts: int = 4
    #: ...and that raise it to high.
    high_counterparts: int = 8
    tier: str = Tier.MEDIUM.value
    #: Counterparts kept exactly per entity; beyond this the count is a HyperLogLog estimate.
    exact_cap: int = 64

    def __post_init__(self) -> None:
        if self.window_s <= 0 or not 2 <= self.min_counterparts <= self.high_counterparts:
            raise ValueError("window_s must be positive and 2 <= min_counterparts <= high_counterparts")
        if self.exact_cap < self.high_counterparts:
            raise ValueError("exact_cap must be at least high_counterparts, so that the tiers are decided exactly")
        Tier(self.tier)


@dataclass(frozen=True, slots=True)
class FanOutConfig(CounterpartConfig):
    pass


@dataclass(frozen=True, slots=True)
class FanInConfig(CounterpartConfig):
    pass


@dataclass(frozen=True, slots=True)
class MultiplePayersConfig(CounterpartConfig):
    min_counterparts: int = 2
    high_counterparts: int = 4
    exact_cap: int = 16


# State: {"d": WindowedDistinct state, "t": newest event time seen,
#         "f": [[anchor, end, tier rank], ...] episodes flagged (detectors.episodes)}
class DistinctCounterpartsDetector(Detector):
    """The shared core; subclasses say what the entity and the counterpart are."""

    version = "1"
    typology: ClassVar[str]
    #: Plural noun for the counterparts, in summaries and as the evidence key.
    counterparts_label: ClassVar[str]

    def __init__(self, config: CounterpartConfig) -> None:
        self.config = config
        self.sketch = WindowedDistinct(config.window_s, exact_cap=config.exact_cap)

    @abstractmethod
    def counterpart(self, event: Event) -> str | None:
        """The counterpart this event counts, or None if it does not count."""

    @abstractmethod
    def entity(self, event: Event) -> str | None:
        """The entity whose state the event updates (the detector's keyspace)."""

    def key(self, event: Event) -> str | None:
        return self.entity(event) if self.counterpart(event) is not None else None

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        item = self.counterpart(event)
        if item is None:
            return state, []
        cfg = self.config
        state = state or {"d": None, "t": event.time, "f": []}
        newest = state["t"] = max(state["t"], event.time)
        start = newest - cfg.window_s
        if event.time < start:
            return state, []  # too late for any window still open
        state["d"] = self.sketch.add(state["d"], item, event.time, event.event_id)
        state["d"] = self.sketch.forget(state["d"], start)
        count, exact = self.sketch.count(state["d"], start, newest)
        if count < cfg.min_counterparts:
            return state, []
        members = self.sketch.members(state["d"], start, newest)
        high = count >= cfg.high_counterparts
        tier = Tier.HIGH if high else Tier(cfg.tier)
        flag = claim(state["f"], members[0][1] if members else start, newest, tier.rank)
        if flag is None:
            return state, []
        entity = self.entity(event) or ""
        shown = f"{count:.0f}" if exact else f"about {count:.0f}"
        days = cfg.window_s / DAY
        return state, [Finding(
            detector=self.name,
            detector_version=self.version,
            typology=self.typology,
            tier=tier,
            tier_reason=(f"{shown} distinct {self.counterparts_label} (high from {cfg.high_counterparts})" if high
                         else f"{shown} distinct {self.counterparts_label} within {days:.0f} days"),
            entity_type=self.keyspace,
            entity_id=entity,
            window_start=window_start(flag[0], cfg.window_s),
            event_time=event.time,
            score=count / cfg.min_counterparts,
            summary=f"{self.keyspace} {entity}: {self.summary_phrase(shown)} within {days:.0f} days",
            evidence={
                "counterparts": count,
                "exact": exact,
                self.counterparts_label.replace(" ", "_"): [m[0] for m in members][-MAX_QUOTED:],
                "window_s": cfg.window_s,
                "first_time": members[0][1] if members else None,
                "policy_id": event.policy_id,
                "customer_id": event.customer_id,
                "payer_account_id": event.payer_account_id,
                "payee_account_id": event.payee_account_id,
                "event_ids": behind([m[2] for m in members if m[2] != event.event_id], event.event_id),
            },
            branch_id=event.branch_id,
            partner_id=event.partner_id,
        )]

    @abstractmethod
    def summary_phrase(self, shown: str) -> str:
        """What was seen, for the summary: ``shown`` is the count as printed."""

    def advance(self, state: State, watermark: float) -> tuple[State, list[Finding]]:
        if not state:
            return None, []
        horizon = watermark - self.config.window_s
        state["d"] = self.sketch.forget(state["d"], horizon)
        state["f"] = forget(state["f"], horizon)
        if state["d"] is None and not state["f"]:
            return None, []
        return state, []

    def due(self, state: State) -> float:
        window = self.config.window_s
        sketch = [] if state["d"] is None else [self.sketch.forget_horizon(state["d"]) + window]
        return earliest(sketch, (f[1] + window for f in state["f"]))


def _own(account: str | None, event: Event) -> bool:
    return account is not None and account == event.policyholder_account_id


def _someone_elses(account: str | None, event: Event) -> bool:
    """Known not to be the policyholder's own account."""
    return account is not None and event.policyholder_account_id not in (None, account)


@register("fan_out")
class FanOutDetector(DistinctCounterpartsDetector):
    """One payer account paying premiums for many policyholders other than
    itself; state per payer account.

    >>> from detectors.events import Event
    >>> d = FanOutDetector(FanOutConfig())
    >>> state = None
    >>> for i in range(4):
    ...     pay = Event(f"e{i}", "premium_paid", "payment", i * 3600.0, policy_id=f"P{i}", customer_id=f"C{i}",
    ...                 payer_account_id="ACC9", policyholder_account_id=f"ACC{i}", amount=3_000.0)
    ...     state, found = d.observe(pay, state)
    >>> found[0].tier.value, found[0].evidence["policyholders"]
    ('medium', ['C0', 'C1', 'C2', 'C3'])
    """

    name = "fan_out"
    typology = "fan_out"
    counterparts_label = "policyholders"
    event_types = frozenset({"premium_paid"})
    keyspace = "account"

    def entity(self, event: Event) -> str | None:
        return event.payer_account_id

    def counterpart(self, event: Event) -> str | None:
        return None if _own(event.payer_account_id, event) else event.customer_id

    def summary_phrase(self, shown: str) -> str:
        return f"paid premiums for {shown} distinct policyholders other than its own"


@register("fan_in")
class FanInDetector(DistinctCounterpartsDetector):
    """One account receiving refunds, surrender payouts or claim payouts of many
    policies that are not its own; state per payee account.

    >>> from detectors.events import Event
    >>> d = FanInDetector(FanInConfig())
    >>> state = None
    >>> for i in range(4):
    ...     out = Event(f"e{i}", "surrender_payout", "payment", i * 3600.0, policy_id=f"P{i}",
    ...                 payee_account_id="ACC9", policyholder_account_id=f"ACC{i}", amount=30_000.0)
    ...     state, found = d.observe(out, state)
    >>> found[0].entity_id, found[0].evidence["policies"]
    ('ACC9', ['P0', 'P1', 'P2', 'P3'])
    """

    name = "fan_in"
    typology = "fan_in"
    counterparts_label = "policies"
    event_types = PAYOUTS
    keyspace = "account"

    def entity(self, event: Event) -> str | None:
        return event.payee_account_id

    def counterpart(self, event: Event) -> str | None:
        return event.policy_id if _someone_elses(event.payee_account_id, event) else None

    def summary_phrase(self, shown: str) -> str:
        return f"received refunds or payouts of {shown} distinct policies not its own"


@register("multiple_payers")
class MultiplePayersDetector(DistinctCounterpartsDetector):
    """Premiums on one policy from several accounts other than the
    policyholder's; state per policy.

    >>> from detectors.events import Event
    >>> d = MultiplePayersDetector(MultiplePayersConfig())
    >>> state = None
    >>> for i in range(3):  # the policyholder's own account ACC0, then two others
    ...     pay = Event(f"e{i}", "premium_paid", "payment", i * 3600.0, policy_id="P1", payer_account_id=f"ACC{i}",
    ...                 policyholder_account_id="ACC0", amount=3_000.0)
    ...     state, found = d.observe(pay, state)
    >>> found[0].summary
    "policy P1: premiums from 2 distinct accounts other than the policyholder's within 30 days"
    """

    name = "multiple_payers"
    typology = "multiple_payers"
    counterparts_label = "payer accounts"
    event_types = frozenset({"premium_paid"})
    keyspace = "policy"

    def entity(self, event: Event) -> str | None:
        return event.policy_id

    def counterpart(self, event: Event) -> str | None:
        return event.payer_account_id if _someone_elses(event.payer_account_id, event) else None

    def summary_phrase(self, shown: str) -> str:
        return f"premiums from {shown} distinct accounts other than the policyholder's"
