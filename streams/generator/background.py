"""Ordinary business: the background the scenarios hide in.

Proportions of the background budget (events): about 42% new-business
bundles (sale recorded, policy issued, first premium, callback; 4% of
callbacks fail and are retried, always within 72 h of issue), callbacks of the
previous days' sales, claims (1.5% of the budget; reported, contacted,
settled and paid as ``servicing`` handles them), about 1% surrenders and 0.6%
cooling-off cancellations (each with its payout), complaints at 0.01 per agent
per simulated day (of mixed categories; 70% resolved 30 min to 8 h later, in
office hours, the rest within 10 days: inside the 15-day deadline), and renewal
premiums filling the rest exactly. Events that would fall after the end of the timeline (a
callback due tomorrow) are left out, as a real day's extract would.

Nothing here may look like a scenario under the detectors' default settings:

* transcripts are checked clean against the phrase list (raw and masked);
* a payer account makes at most one payment in a channel's near-threshold
  band (cash 40,000 to 49,999.99 CNY) in the whole run, so never the three that
  structuring needs; large amounts are rarely paid in cash at all;
* an agent never gets a third complaint within 25 hours of two others, so
  never the three in 24 hours that a complaint spike needs, and the agents
  reserved for scenarios get no background complaints;
* partners set aside for scenarios (``Reserved.partners``: a partner's
  scorecard or complaint spike) get no business at all: their customers buy
  through a colleague of the branch who does not work for them, and their
  book policies renew, claim and end nothing in the run.

What the background does contain, as real business does, raises alerts that
``labels.py`` labels as facts of the data: failed callbacks (each retried),
complaints in the mis-selling category, and the few claims that miss their
service target (``servicing``).

Beyond today's detectors, sales are suitable (see ``population``), premiums
are paid from and refunds paid to the policyholder's own account, and a
customer who surrenders or cancels a policy buys nothing new in the run, nor
does a buyer cancel one (no churning). Surrenders are of policies at least two
years old (no early surrenders), and ended policies carry their age.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from random import Random

from detectors.callbacks import CallbackConfig
from detectors.structuring import StructuringConfig
from streams.generator import feed
from streams.generator.model import EventLog
from streams.generator.population import Policy, Population
from streams.generator.servicing import handle_claim
from streams.generator.timeline import DAY_MS, HOUR_MS, Timeline
from streams.generator.transcripts import PhraseGuard, clean_transcript

MINUTE_MS = 60_000
COMPLAINT_RATE_PER_AGENT_DAY = 0.01
#: An agent's complaints: no more than two within this span (detector window is 24 h).
COMPLAINT_SPACING_MS = 25 * HOUR_MS
COMPLAINT_CATEGORY_WEIGHTS = {"claims_service": 0.35, "service_attitude": 0.25, "billing": 0.18,
                              "mis_selling": 0.12, "other": 0.10}
CHANNEL_WEIGHTS = {"bank_transfer": 0.45, "mobile": 0.28, "card": 0.20, "cash": 0.05, "cheque": 0.02}
#: Payments above this (CNY) are almost never made in cash.
LARGE_CASH_CNY = 20_000.0
SALES_SHARE = 0.42
CLAIM_SHARE = 0.03
SURRENDER_SHARE = 0.012
COOLING_OFF_SHARE = 0.006
CALLBACK_FAILURE_RATE = 0.04
#: A policy's successful callback is due within this long of issue (``detectors/callbacks.py``).
CALLBACK_DEADLINE_MS = round(CallbackConfig().deadline_s * 1000)
#: Callbacks of sales made before the timeline, per sale per simulated day in it.
EARLIER_CALLBACK_SHARE = 0.6
CALLBACK_FAILURE_REASONS = ("no_answer", "line_busy", "customer_asked_to_call_later")
ENGLISH_SHARE = 0.15
CLAIM_MEDIAN_CNY = {"health": 3_000.0, "motor": 5_000.0, "protection": 8_000.0}


_DEFAULT_STRUCTURING = StructuringConfig()


def near_threshold_band(channel: str, config: StructuringConfig | None = None) -> tuple[float, float] | None:
    """``(low, threshold)`` CNY: amounts in ``[low, threshold)`` are "just under"
    the channel's reporting threshold, as the structuring detector defines it."""
    config = config or _DEFAULT_STRUCTURING
    threshold = config.thresholds_cny.get(channel)
    return None if threshold is None else (threshold * (1.0 - config.band), threshold)


@dataclass(slots=True)
class Reserved:
    """Population members kept for scenarios, so the background leaves them alone."""

    #: Customers (indices) with no background activity at all.
    customers: set[int] = field(default_factory=set)
    #: Agents (indices) who receive no background complaints.
    quiet_agents: set[int] = field(default_factory=set)
    #: Customers (indices) who buy in a scenario, so do not surrender in the background.
    buyers: set[int] = field(default_factory=set)
    #: Partners (ids) whose business in the run is a scenario's alone: the background sells,
    #: renews, claims and complains nothing through them, and other scenarios leave them alone
    #: (a partner's scorecard is judged on its business; see ``ScenarioBuilder.open_to_business``).
    partners: set[str] = field(default_factory=set)


class Background:
    """Fills a budget of events with ordinary business, leaving :class:`Reserved` members alone."""

    def __init__(self, pop: Population, timeline: Timeline, rng: Random, guard: PhraseGuard,
                 reserved: Reserved) -> None:
        self.pop = pop
        self.timeline = timeline
        self.rng = rng
        self.guard = guard
        self.reserved = reserved
        self.customers = [i for i in range(len(pop.customers)) if i not in reserved.customers]
        if not self.customers:
            raise ValueError("every customer is reserved for scenarios: raise customers")
        self._band_accounts: set[str] = set()
        self._complaints_of_agent: dict[int, list[int]] = {}
        self._surrendering: set[int] = set()  # customers who surrender or cancel a policy in the run
        self._buying: set[int] = set()  # customers who buy a policy in the run
        self._ended: set[int] = set()  # policy indices cancelled or surrendered
        #: Agents of the partners set aside for scenarios: no background business through them.
        self._set_aside = {i for i, a in enumerate(pop.agents) if a.partner_id in reserved.partners}

    def fill(self, budget: int) -> EventLog:
        """Exactly ``budget`` background events."""
        log = EventLog()
        days = self.timeline.duration_ms / DAY_MS
        sales = int(SALES_SHARE * budget / 4.1)
        plan = (
            # Surrenders first: their customers then buy nothing in the run (that would be churning).
            (self._surrender, 2, int(SURRENDER_SHARE * budget / 2)),
            (self._sale, 5, sales),
            # Sales of the day or two before the start still get their callbacks in it.
            (self._earlier_sale_callback, 2, int(sales / days * EARLIER_CALLBACK_SHARE)),
            (self._complaint, 2, min(round(COMPLAINT_RATE_PER_AGENT_DAY * len(self.pop.agents) * days),
                                     budget // 50)),
            (self._cooling_off, 2, int(COOLING_OFF_SHARE * budget / 2)),
            (self._claim, 4, int(CLAIM_SHARE * budget / 2)),
        )
        for make, most_events, count in plan:
            for _ in range(count):
                if budget - len(log) < most_events:
                    break
                make(log)
        renewable = [i for i, p in enumerate(self.pop.policies)
                     if p.issued_days_ago > 0 and p.customer not in self.reserved.customers and i not in self._ended
                     and p.agent not in self._set_aside]
        if len(log) < budget and not renewable:
            raise ValueError("no in-force policy left for renewal premiums: raise customers")
        while len(log) < budget:
            self._renewal(log, self.pop.policies[self.rng.choice(renewable)])
        return log

    # --- helpers -------------------------------------------------------------------
    def _within(self, ms: int) -> bool:
        return ms < self.timeline.end_ms

    def _channel(self, account: str, amount: float) -> str:
        rng = self.rng
        channel = rng.choices(list(CHANNEL_WEIGHTS), weights=list(CHANNEL_WEIGHTS.values()))[0]
        if channel == "cash" and amount > LARGE_CASH_CNY and rng.random() > 0.2:
            channel = "bank_transfer"
        band = near_threshold_band(channel)
        if band and band[0] <= amount < band[1]:
            if account in self._band_accounts:
                return "bank_transfer"  # a second near-threshold cash payment would start a pattern
            self._band_accounts.add(account)
        return channel

    def _pay(self, log: EventLog, ms: int, policy: Policy) -> None:
        amount = feed.instalment(policy)
        channel = self._channel(self.pop.customers[policy.customer].account_id, amount)
        feed.premium_paid(log, ms, self.pop, policy, amount, channel)

    def _age_days(self, policy: Policy, ms: int) -> int:
        """Days from the issue of a book policy to ``ms``."""
        return policy.issued_days_ago + (ms - self.timeline.start_ms) // DAY_MS

    def _uniform_ms(self, low_ms: int, high_ms: int) -> int:
        return low_ms + int(self.rng.random() * (high_ms - low_ms))

    # --- activities ----------------------------------------------------------------
    def _sale(self, log: EventLog) -> None:
        rng, pop, tl = self.rng, self.pop, self.timeline
        ci = rng.choice(self.customers)
        while ci in self._surrendering:
            ci = rng.choice(self.customers)
        self._buying.add(ci)
        customer = pop.customers[ci]
        agent = customer.agent
        if rng.random() < 0.15:  # a colleague at the same branch makes the sale
            agent = rng.choice(pop.agents_of_branch[pop.agents[agent].branch_id])
        if agent in self._set_aside:  # a colleague who does not work for that partner, if there is one
            colleagues = [a for a in pop.agents_of_branch[pop.agents[agent].branch_id] if a not in self._set_aside]
            if not colleagues:
                return
            agent = rng.choice(colleagues)
        policy = pop.new_policy(rng, ci, agent)
        product = pop.products[policy.product]
        personal = (customer.name, customer.phone, customer.id_number)
        transcript = clean_transcript(rng, self.guard, english=rng.random() < ENGLISH_SHARE, name=customer.name,
                                      agent_id=pop.agents[agent].agent_id, product=product,
                                      premium=policy.premium, personal=personal)
        sold = tl.sample(rng, "sales")
        feed.sale_recorded(log, sold, pop, policy, transcript)
        issued = sold + self._uniform_ms(5 * MINUTE_MS, 3 * HOUR_MS)
        if not self._within(issued):
            return
        feed.policy_issued(log, issued, pop, policy)
        paid = issued + self._uniform_ms(2 * MINUTE_MS, 24 * HOUR_MS)
        if self._within(paid):
            self._pay(log, paid, policy)
        self._callbacks(log, policy, issued + self._uniform_ms(HOUR_MS, 30 * HOUR_MS), issued)

    def _callbacks(self, log: EventLog, policy: Policy, due: int, issued: int | None = None) -> None:
        """The new-policy callback at ``due`` (or the next office hour); a few
        fail and are retried successfully a few hours later, always within the
        72 hours after ``issued`` that the callback centre has."""
        rng, pop, tl = self.rng, self.pop, self.timeline
        called = tl.next_open(rng, "service", due)
        if not self._within(called):
            return
        if rng.random() < CALLBACK_FAILURE_RATE:
            feed.callback(log, called, pop, policy, rng.choice(CALLBACK_FAILURE_REASONS))
            failed = called
            called = tl.next_open(rng, "service", called + self._uniform_ms(2 * HOUR_MS, 24 * HOUR_MS))
            if issued is not None and called > issued + CALLBACK_DEADLINE_MS - HOUR_MS:
                called = tl.next_open(rng, "service", failed + 2 * HOUR_MS)  # the deadline is near: call sooner
            if not self._within(called):
                return
        feed.callback(log, called, pop, policy)

    def _earlier_sale_callback(self, log: EventLog) -> None:
        """The callback of a policy issued a day or two before the timeline starts."""
        rng = self.rng
        policy = self.pop.new_policy(rng, rng.choice(self.customers), issued_days_ago=rng.randint(1, 2))
        self._callbacks(log, policy, self.timeline.sample(rng, "service", hi=self.timeline.start_ms + DAY_MS))

    def _complaint(self, log: EventLog) -> None:
        rng, pop = self.rng, self.pop
        filed = self.timeline.sample(rng, "service")
        for _ in range(10):
            ci = rng.choice(self.customers)
            holdings = pop.policies_of_customer.get(ci, [])
            policy = pop.policies[rng.choice(holdings)] if holdings else None
            agent = policy.agent if policy else pop.customers[ci].agent
            if agent in self.reserved.quiet_agents or agent in self._set_aside:
                continue
            times = self._complaints_of_agent.setdefault(agent, [])
            if sum(abs(t - filed) <= COMPLAINT_SPACING_MS for t in times) >= 2:
                continue  # a third one close by could look like a spike
            times.append(filed)
            break
        else:
            return
        category = rng.choices(list(COMPLAINT_CATEGORY_WEIGHTS), weights=list(COMPLAINT_CATEGORY_WEIGHTS.values()))[0]
        complaint_id = pop.ids.complaint_id()
        feed.complaint_filed(log, filed, pop, complaint_id, ci, agent, category, policy)
        # Most are settled the same day, the rest within 10 days: all within the 15-day deadline.
        quick = rng.random() < 0.7
        delay = self._uniform_ms(30 * MINUTE_MS, 8 * HOUR_MS) if quick else self._uniform_ms(DAY_MS, 10 * DAY_MS)
        resolved = self.timeline.next_open(rng, "service", filed + delay)
        if self._within(resolved):
            feed.complaint_resolved(log, resolved, pop, complaint_id, ci, agent)

    def _book_policy(self, accept) -> tuple[int, Policy] | None:
        """A random in-force book policy of a background customer that ``accept`` allows."""
        for _ in range(50):
            ci = self.rng.choice(self.customers)
            holdings = [i for i in self.pop.policies_of_customer.get(ci, []) if i not in self._ended]
            if holdings:
                index = self.rng.choice(holdings)
                policy = self.pop.policies[index]
                if policy.issued_days_ago > 0 and policy.agent not in self._set_aside and accept(policy):
                    return index, policy
        return None

    def _surrender(self, log: EventLog) -> None:
        if 2 * len(self._surrendering) >= len(self.customers):
            return  # keep most customers free to buy
        found = self._book_policy(lambda p: p.issued_days_ago >= 2 * 365 and p.customer not in self.reserved.buyers
                                  and self.pop.products[p.product].category not in ("health", "motor"))
        if found is None:
            return
        index, policy = found
        self._ended.add(index)
        self._surrendering.add(policy.customer)
        years = policy.issued_days_ago / 365
        value = round(policy.premium * min(years, 20) * self.rng.uniform(0.5, 0.9), 2)
        ms = self.timeline.sample(self.rng, "service")
        feed.policy_ended(log, ms, self.pop, policy, "surrendered", value, self._age_days(policy, ms))
        paid = ms + self._uniform_ms(2 * HOUR_MS, 30 * HOUR_MS)
        if self._within(paid):
            feed.payout(log, paid, self.pop, policy, "surrender_payout", value)

    def _cooling_off(self, log: EventLog) -> None:
        # Not a customer who buys in the run: a cancellation and a new policy through the same agent is churning.
        found = self._book_policy(lambda p: p.issued_days_ago <= 14 and p.customer not in self._buying
                                  and p.customer not in self.reserved.buyers)
        if found is None:
            return
        index, policy = found
        self._ended.add(index)
        self._surrendering.add(policy.customer)
        ms = self.timeline.sample(self.rng, "service")
        amount = feed.instalment(policy)
        feed.policy_ended(log, ms, self.pop, policy, "cooling_off_cancelled", amount, self._age_days(policy, ms))
        refunded = ms + self._uniform_ms(HOUR_MS, 24 * HOUR_MS)
        if self._within(refunded):
            feed.payout(log, refunded, self.pop, policy, "refund", amount)

    def _claim(self, log: EventLog) -> None:
        found = self._book_policy(lambda p: self.pop.products[p.product].category in CLAIM_MEDIAN_CNY)
        if found is None:
            return
        _, policy = found
        median = CLAIM_MEDIAN_CNY[self.pop.products[policy.product].category]
        amount = round(max(100.0, self.rng.lognormvariate(math.log(median), 0.9)), 2)
        paid = handle_claim(log, self.rng, self.timeline, self.pop, policy, amount)
        if paid is not None:
            feed.payout(log, paid, self.pop, policy, "claim_payout", amount)

    def _renewal(self, log: EventLog, policy: Policy) -> None:
        self._pay(log, self.timeline.sample(self.rng, "payments"), policy)
