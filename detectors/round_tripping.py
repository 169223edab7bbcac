"""Round-tripping: money that leaves an account as premium and comes back to it,
or to an account of the same customer, through refunds and payouts of policies.

A policy turns premiums into payouts, so each payout is a transfer between
accounts: from whoever funded the policy to the payee. The funders are the
third-party payers of the policy's premiums within ``window_s`` (a premium from
an account other than the policyholder's), or, when there are none, the
policyholder's own account. These transfers (of at least ``min_amount_cny``)
make a payer-to-payee graph of the last ``window_s`` (30 days), held by
:class:`detectors.graph.TransferGraph`; a payout that closes a cycle of at
most ``max_cycle_length`` (5) accounts, in time order, fires. Accounts that are
the policyholder accounts of one customer are one node, so money that comes
back to another account of the same customer closes the cycle too (an account
is known to be a customer's when it appears as ``policyholder_account_id`` on
a payment this detector keeps). The alert is on the account the money first
left (the source of the cycle's earliest transfer); ``high``, ``critical`` when
at least ``critical_amount_cny`` (200,000) went all the way round.

Partitioning, the trade-off chosen: a cycle spans accounts and customers that
live on different partitions, and the engine keeps state per key without
messages between keys, so this detector keeps one graph under one key
(keyspace ``graph``, key ``payments``): one partition and one worker see all
its events. To keep that hot key cool, only what can form a transfer is routed
to it: premiums from a third-party account (the policyholder's own premiums are
implicit: the policyholder funds the policy when no one else did) and payouts
(refunds, surrender and claim payouts): a few per cent of the payment stream.
In ordinary business (own premiums, payouts to the policyholder) nothing is
kept: the state stays empty. Its size is bounded by the window and by
``max_edges`` and ``max_pending``. Keying by customer instead would spread the
load but see only cycles through one customer's own policies, missing the
cross-customer cycles that are the point. A payout that arrives before the
third-party premium it refunds (out of order) is attributed to the
policyholder.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

from detectors.base import Detector, Finding, State, Tier, register
from detectors.episodes import claim, forget, window_start
from detectors.events import Event
from detectors.graph import TransferGraph

TYPOLOGY = "round_tripping"
DAY = 86_400.0
PAYOUTS = frozenset({"refund", "surrender_payout", "claim_payout"})
GRAPH_KEY = "payments"


@dataclass(frozen=True, slots=True)
class RoundTrippingConfig:
    window_s: float = 30 * DAY
    #: Longest cycle searched for, in accounts (transfers).
    max_cycle_length: int = 5
    #: Transfers smaller than this (CNY) are left out of the graph.
    min_amount_cny: float = 1_000.0
    tier: str = Tier.HIGH.value
    #: When at least this much went all the way round (the smallest transfer of the cycle), critical.
    critical_amount_cny: float = 200_000.0
    #: Bounds of the graph's memory: transfers, and third-party premiums awaiting a payout.
    max_edges: int = 20_000
    max_pending: int = 20_000

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.min_amount_cny < 0 or self.critical_amount_cny <= 0:
            raise ValueError("window_s and critical_amount_cny must be positive, min_amount_cny not negative")
        if self.max_cycle_length < 2 or self.max_edges < 1 or self.max_pending < 1:
            raise ValueError("max_cycle_length must be at least 2 and the caps positive")
        Tier(self.tier)


# State: {"g": TransferGraph state (edge ref = payout event id),
#         "p": {policy_id: [[payer, time, amount, event_id], ...]} third-party premiums,
#         "x": {payout event_id: [time, policy_id, [premium event ids]]} transfers made,
#         "l": {account: [customer_id, time]} policyholder accounts and their customers,
#         "c": {customer_id: [account, ...]} the same links by customer (sorted), kept with "l",
#         "f": {origin account: [[window start, end, tier rank], ...]} cycles flagged}
@register("round_tripping")
class RoundTrippingDetector(Detector):
    """Flags money that comes back round a cycle of accounts through policies;
    one graph for all payments.

    >>> from detectors.events import Event
    >>> d = RoundTrippingDetector(RoundTrippingConfig())
    >>> a_to_b = Event("e1", "surrender_payout", "payment", 0.0, policy_id="P1", customer_id="C1", amount=80_000.0,
    ...                policyholder_account_id="ACC-A", payee_account_id="ACC-B")
    >>> b_to_a = Event("e2", "refund", "payment", 86_400.0, policy_id="P2", customer_id="C2", amount=75_000.0,
    ...                policyholder_account_id="ACC-B", payee_account_id="ACC-A")
    >>> state, _ = d.observe(a_to_b, None)
    >>> _, [found] = d.observe(b_to_a, state)
    >>> found.entity_id, found.evidence["accounts"], found.evidence["policies"]
    ('ACC-A', ['ACC-A', 'ACC-B'], ['P1', 'P2'])
    """

    name = "round_tripping"
    typologies = (TYPOLOGY,)
    version = "1"
    event_types = frozenset({"premium_paid"}) | PAYOUTS
    keyspace = "graph"
    finding_entity = "account"

    def __init__(self, config: RoundTrippingConfig) -> None:
        self.config = config
        self.graph = TransferGraph(config.window_s, config.max_cycle_length, config.max_edges)

    def key(self, event: Event) -> str | None:
        if event.policy_id is None or event.amount is None:
            return None
        if event.event_type == "premium_paid":
            third_party = (event.payer_account_id is not None and event.policyholder_account_id is not None
                           and event.payer_account_id != event.policyholder_account_id)
            return GRAPH_KEY if third_party else None
        return GRAPH_KEY if event.payee_account_id is not None else None

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        if self.key(event) is None:
            return state, []
        if event.event_type == "premium_paid":
            return self._premium(event, state), []
        return self._payout(event, state)

    @staticmethod
    def _empty() -> dict:
        return {"g": None, "p": {}, "x": {}, "l": {}, "c": {}, "f": {}}

    def _premium(self, event: Event, state: State) -> State:
        state = state or self._empty()
        pending = state["p"].setdefault(event.policy_id, [])
        if any(p[3] == event.event_id for p in pending):
            return state
        pending.append([event.payer_account_id, event.time, event.amount, event.event_id])
        self._link(state, event)
        if sum(len(v) for v in state["p"].values()) > self.config.max_pending:
            oldest = min(state["p"], key=lambda k: (min(p[1] for p in state["p"][k]), k))
            del state["p"][oldest]
        return state

    def _link(self, state: dict, event: Event) -> None:
        account, customer = event.policyholder_account_id, event.customer_id
        if account is None or customer is None:
            return
        members = self._members(state)
        old = state["l"].get(account)
        if old is not None and old[0] != customer:
            self._unlink(members, account, old[0])
        state["l"][account] = [customer, event.time]
        accounts = members.setdefault(customer, [])
        if account not in accounts:
            bisect.insort(accounts, account)

    @staticmethod
    def _members(state: dict) -> dict:
        """Customer -> its accounts, kept in step with ``state["l"]`` (rebuilt for a state saved without it)."""
        if "c" not in state:
            state["c"] = {}
            for account, (customer, _) in sorted(state["l"].items()):
                state["c"].setdefault(customer, []).append(account)
        return state["c"]

    @staticmethod
    def _unlink(members: dict, account: str, customer: str) -> None:
        accounts = members.get(customer, [])
        if account in accounts:
            accounts.remove(account)
        if not accounts:
            members.pop(customer, None)

    def _sources(self, state: State, event: Event) -> list[tuple[str, float, list[str]]]:
        """(funding account, amount, premium event ids) for this payout's transfers."""
        cfg = self.config
        pending = [p for p in (state or {"p": {}})["p"].get(event.policy_id, [])
                   if event.time - cfg.window_s <= p[1] <= event.time]
        if not pending:
            holder = event.policyholder_account_id
            return [] if holder is None else [(holder, event.amount, [])]
        by_payer: dict[str, list] = {}
        for p in pending:
            by_payer.setdefault(p[0], []).append(p)
        return [(payer, min(event.amount, sum(p[2] for p in paid)), [p[3] for p in paid])
                for payer, paid in sorted(by_payer.items())]

    def _payout(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        cfg = self.config
        if state and event.event_id in state["x"]:
            return state, []
        payee = event.payee_account_id
        sources = [s for s in self._sources(state, event) if s[0] != payee and s[1] >= cfg.min_amount_cny]
        links = (state or {}).get("l", {})
        own = {}  # this payout's own link counts before it is stored
        if event.policyholder_account_id is not None and event.customer_id is not None:
            own = {event.policyholder_account_id: [event.customer_id, event.time]}
        node_of = self._node_of(links, own)
        sources = [s for s in sources if node_of(s[0]) != node_of(payee)]
        if not sources:
            return state, []
        state = state or self._empty()
        self._link(state, event)
        state["x"][event.event_id] = [event.time, event.policy_id, [i for s in sources for i in s[2]]]
        accounts_of = self._accounts_of(self._members(state))
        findings = []
        for source, amount, _ in sources:
            cycle = self.graph.find_cycle(state["g"], source, payee, event.time, node_of, accounts_of)
            state["g"] = self.graph.add(state["g"], source, payee, event.time, amount, event.event_id)
            if cycle is not None:
                found = self._finding(state, event, cycle + [(source, payee, event.time, amount, event.event_id)],
                                      node_of)
                if found is not None:
                    findings.append(found)
        return state, findings

    @staticmethod
    def _node_of(links: dict, own: dict | None = None):
        own = own or {}

        def node_of(account: str) -> str:
            link = own.get(account) or links.get(account)
            return f"customer:{link[0]}" if link else f"account:{account}"
        return node_of

    @staticmethod
    def _accounts_of(members: dict):
        def accounts_of(node: str) -> list[str]:
            kind, _, ident = node.partition(":")
            return members.get(ident, []) if kind == "customer" else [ident]
        return accounts_of

    def _finding(self, state: dict, event: Event, cycle: list, node_of) -> Finding | None:
        cfg = self.config
        # Read the cycle from its earliest transfer: the origin is where the money first left.
        first = min(range(len(cycle)), key=lambda i: (cycle[i][2], str(cycle[i][4])))
        cycle = cycle[first:] + cycle[:first]
        origin, start, end = cycle[0][0], cycle[0][2], max(t[2] for t in cycle)
        through = min(t[3] for t in cycle)
        tier = Tier.CRITICAL if through >= cfg.critical_amount_cny else Tier(cfg.tier)
        # One alert per origin and window: a flag is anchored on the window start itself.
        flag = claim(state["f"].setdefault(origin, []), window_start(start, cfg.window_s), end, tier.rank)
        if flag is None:
            return None
        transfers = [state["x"].get(t[4], [t[2], None, []]) for t in cycle]
        policies = [x[1] for x in transfers]
        premium_ids = [i for x in transfers for i in x[2]]
        accounts = [t[0] for t in cycle]
        return Finding(
            detector=self.name,
            detector_version=self.version,
            typology=TYPOLOGY,
            tier=tier,
            tier_reason=(f"{through:,.0f} CNY went round the cycle (critical from {cfg.critical_amount_cny:,.0f})"
                         if tier is Tier.CRITICAL else f"money returned round a cycle of {len(cycle)} accounts"),
            entity_type="account",
            entity_id=origin,
            window_start=flag[0],
            event_time=event.time,
            score=float(len(cycle)),
            summary=(f"account {origin}: money returned through {len(cycle)} transfers via policies "
                     f"{', '.join(str(p) for p in policies)} within {(end - start) / DAY:.1f} days, "
                     f"at least {through:,.2f} CNY round"),
            evidence={
                "accounts": accounts,
                "nodes": [node_of(a) for a in accounts],
                "returned_to_account_id": cycle[-1][1],
                "policies": policies,
                "amounts_cny": [t[3] for t in cycle],
                "times": [t[2] for t in cycle],
                "customer_id": event.customer_id,
                "policy_id": event.policy_id,
                "event_ids": [t[4] for t in cycle] + premium_ids,
            },
            branch_id=event.branch_id,
            partner_id=event.partner_id,
        )

    def advance(self, state: State, watermark: float) -> tuple[State, list[Finding]]:
        if not state:
            return None, []
        horizon = watermark - self.config.window_s
        state["g"] = self.graph.forget(state["g"], horizon)
        state["p"] = {k: kept for k, v in state["p"].items() if (kept := [p for p in v if p[1] >= horizon])}
        state["x"] = {k: v for k, v in state["x"].items() if v[0] >= horizon}
        members = self._members(state)
        for account, (customer, linked) in list(state["l"].items()):
            if linked < horizon:
                del state["l"][account]
                self._unlink(members, account, customer)
        state["f"] = {k: kept for k, v in state["f"].items() if (kept := forget(v, horizon))}
        if not (state["g"] or state["p"] or state["x"] or state["l"] or state["f"]):
            return None, []
        return state, []
