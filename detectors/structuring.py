"""Structuring: several payments just under a reporting threshold within a window.

Per payer account, premium payments whose amount lies in the band just under
the channel's reporting threshold (default: cash, 50,000 CNY, band 20%, so
40,000 to 49,999.99) are kept for ``window_s`` of event time. When at least
``min_payments`` of them fall within one window and their sum passes the
threshold, the account is flagged once for that episode; if the episode goes on
to hold ``critical_payments`` payments, the same alert is raised to critical
once (the finding keeps the episode's window, so it has the same alert id).

Alert identity is anchored on the episode's first payment, bucketed to the
window, so the same payments give the same alert id in the worker and in a
replay. Payments that arrive late and belong to an episode already flagged do
not raise a second alert.

:class:`CustomerStructuringDetector` runs the same rule per customer (the
policyholder of the policies paid), for a customer who spreads the payments
over several accounts so that no one account shows the pattern. To avoid a
second alert on an episode the per-account detector already reports, it fires
only when the episode's payments come from at least
``min_accounts_per_customer`` accounts and no single account holds
``min_payments`` of them. (If payments arrive so that the customer alert fires
first and one account later reaches ``min_payments``, both alerts exist; they
share the customer id and the payment event ids in their evidence.) Its state
lives on the customer's partition: payments arrive keyed by policy and are
re-keyed by customer, one more forwarded message per cash premium.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from detectors.base import Detector, Finding, State, Tier, earliest, register
from detectors.events import Event

TYPOLOGY = "structuring"


@dataclass(frozen=True, slots=True)
class StructuringConfig:
    #: Reporting threshold per payment channel, CNY. Channels not listed are not checked.
    thresholds_cny: dict[str, float] = field(default_factory=lambda: {"cash": 50_000.0})
    #: A payment is "just under" when it is at least (1 - band) x threshold.
    band: float = 0.2
    window_s: float = 72 * 3600.0
    min_payments: int = 3
    tier: str = Tier.HIGH.value
    #: This many near-threshold payments in one episode raise the tier to critical.
    critical_payments: int = 5
    #: The per-customer variant needs the payments to come from at least this many accounts.
    min_accounts_per_customer: int = 2

    def __post_init__(self) -> None:
        for channel, threshold in self.thresholds_cny.items():
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold > 0:
                raise ValueError(f"thresholds_cny[{channel!r}] must be a positive number of CNY, got {threshold!r}")
        # Floats throughout, so that 50000 and 50000.0 give one config version.
        object.__setattr__(self, "thresholds_cny", {c: float(t) for c, t in self.thresholds_cny.items()})
        if not 0 < self.band < 1:
            raise ValueError("band must be between 0 and 1")
        if self.window_s <= 0 or self.min_payments < 2:
            raise ValueError("window_s must be positive and min_payments at least 2")
        if self.min_accounts_per_customer < 2:
            raise ValueError("min_accounts_per_customer must be at least 2")
        Tier(self.tier)


# State: {"p": [[time, amount, event_id, payer_account_id], ...] sorted by time,
#         "f": [[first_time, last_time, critical], ...] episodes already flagged,
#               critical once an alert at that tier has been raised for it}
@register("structuring")
class StructuringDetector(Detector):
    """Flags a payer account making several cash payments just under the
    reporting threshold within ``window_s``; state is kept per account.

    >>> from detectors.events import Event
    >>> d = StructuringDetector(StructuringConfig())
    >>> state, found = None, []
    >>> for i, hours in enumerate((0, 20, 40)):
    ...     pay = Event(f"e{i}", "premium_paid", "payment", hours * 3600.0, amount=45_000.0,
    ...                 channel="cash", payer_account_id="ACC1")
    ...     state, found = d.observe(pay, state)
    >>> found[0].tier.value, found[0].evidence["total_cny"]
    ('high', 135000.0)
    """

    name = "structuring"
    typologies = (TYPOLOGY,)
    version = "1"
    event_types = frozenset({"premium_paid"})
    keyspace = "account"

    def __init__(self, config: StructuringConfig) -> None:
        self.config = config

    def key(self, event: Event) -> str | None:
        if event.channel not in self.config.thresholds_cny:
            return None
        return event.payer_account_id

    def _reported_here(self, members: list) -> bool:
        """Whether an episode of these payments is this detector's to report."""
        return True

    def _more_evidence(self, members: list) -> dict:
        return {}

    def _near_threshold(self, event: Event) -> float | None:
        threshold = self.config.thresholds_cny.get(event.channel or "")
        if threshold is None or event.amount is None:
            return None
        if threshold * (1.0 - self.config.band) <= event.amount < threshold:
            return threshold
        return None

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        threshold = self._near_threshold(event)
        if threshold is None:
            return state, []
        state = state or {"p": [], "f": []}
        payments: list = state["p"]
        if any(p[2] == event.event_id for p in payments):
            return state, []  # duplicate delivery
        bisect.insort(payments, [event.time, event.amount, event.event_id, event.payer_account_id])
        newest = payments[-1][0]
        self._evict(state, newest - 2 * self.config.window_s)
        return state, self._find_episode(state, event, threshold) or self._escalate(state, event, threshold)

    def _find_episode(self, state: dict, event: Event, threshold: float) -> list[Finding]:
        payments = state["p"]
        window = self.config.window_s
        start = 0
        for end in range(len(payments)):
            while payments[end][0] - payments[start][0] > window:
                start += 1
            group = payments[start : end + 1]
            if len(group) < self.config.min_payments:
                continue
            total = sum(p[1] for p in group)
            if total < threshold:
                continue
            first, last = group[0][0], group[-1][0]
            if any(f[0] <= last and first <= f[1] for f in state["f"]):
                continue  # this episode has been flagged already
            # Grow the episode over every near-threshold payment within the window.
            members = [p for p in payments if first <= p[0] <= first + window]
            if not self._reported_here(members):
                continue
            critical = len(members) >= self.config.critical_payments
            state["f"].append([first, members[-1][0], critical])
            return [self._finding(event, members, threshold, first)]
        return []

    def _escalate(self, state: dict, event: Event, threshold: float) -> list[Finding]:
        """A payment joining a flagged episode raises it to critical once the
        episode holds ``critical_payments`` payments (same window: same alert)."""
        window = self.config.window_s
        for flagged in state["f"]:
            first = flagged[0]
            if flagged[2] or not first <= event.time <= first + window:
                continue
            members = [p for p in state["p"] if first <= p[0] <= first + window]
            if len(members) >= self.config.critical_payments:
                flagged[2] = True
                return [self._finding(event, members, threshold, first)]
        return []

    def _finding(self, event: Event, members: list, threshold: float, first: float) -> Finding:
        total = round(sum(p[1] for p in members), 2)
        critical = len(members) >= self.config.critical_payments
        tier = Tier.CRITICAL if critical else Tier(self.config.tier)
        reason = (
            f"{len(members)} near-threshold payments (critical from {self.config.critical_payments})"
            if critical
            else f"{len(members)} near-threshold payments summing past the threshold"
        )
        window = self.config.window_s
        return Finding(
            detector=self.name,
            detector_version=self.version,
            typology=TYPOLOGY,
            tier=tier,
            tier_reason=reason,
            entity_type=self.keyspace,
            entity_id=self.key(event) or "",
            window_start=(first // window) * window,
            event_time=event.time,
            score=total / threshold,
            summary=(
                f"{self.keyspace} {self.key(event)}: {len(members)} {event.channel} payments just under "
                f"{threshold:,.0f} CNY within {window / 3600:.0f} h, total {total:,.2f} CNY"
            ),
            evidence={
                "channel": event.channel,
                "threshold_cny": threshold,
                "payments": len(members),
                "total_cny": total,
                "amounts_cny": [p[1] for p in members],
                "first_time": first,
                "last_time": members[-1][0],
                "customer_id": event.customer_id,
                "event_ids": [p[2] for p in members],
                **self._more_evidence(members),
            },
            branch_id=event.branch_id,
            partner_id=event.partner_id,
        )

    def _evict(self, state: dict, horizon: float) -> None:
        state["p"] = [p for p in state["p"] if p[0] >= horizon]
        state["f"] = [f for f in state["f"] if f[1] >= horizon]

    def advance(self, state: State, watermark: float) -> tuple[State, list[Finding]]:
        if not state:
            return None, []
        self._evict(state, watermark - 2 * self.config.window_s)
        if not state["p"] and not state["f"]:
            return None, []
        return state, []

    def due(self, state: State) -> float:
        kept = 2 * self.config.window_s
        return earliest((p[0] + kept for p in state["p"]), (f[1] + kept for f in state["f"]))


@register("structuring")
class CustomerStructuringDetector(StructuringDetector):
    """Structuring spread over several accounts of one customer; state per customer.

    >>> from detectors.events import Event
    >>> d = CustomerStructuringDetector(StructuringConfig())
    >>> state, found = None, []
    >>> for i, account in enumerate(("ACC1", "ACC2", "ACC3")):
    ...     pay = Event(f"e{i}", "premium_paid", "payment", i * 3600.0, customer_id="C1", amount=45_000.0,
    ...                 channel="cash", payer_account_id=account)
    ...     state, found = d.observe(pay, state)
    >>> found[0].entity_id, found[0].evidence["account_ids"]
    ('C1', ['ACC1', 'ACC2', 'ACC3'])
    """

    name = "structuring_customer"
    typologies = (TYPOLOGY,)
    keyspace = "customer"

    def key(self, event: Event) -> str | None:
        if event.channel not in self.config.thresholds_cny:
            return None
        return event.customer_id

    def _reported_here(self, members: list) -> bool:
        per_account: dict[str, int] = {}
        for p in members:
            per_account[p[3]] = per_account.get(p[3], 0) + 1
        return (len(per_account) >= self.config.min_accounts_per_customer
                and max(per_account.values()) < self.config.min_payments)

    def _more_evidence(self, members: list) -> dict:
        return {"account_ids": sorted({p[3] for p in members if p[3]})}
