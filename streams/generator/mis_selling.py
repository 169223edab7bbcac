"""Mis-selling scenarios: unsuitable sales, agents out of line with their
peers, agents whose integrity score falls below 60, and churning; each with
benign look-alikes. Registered with :func:`~streams.generator.scenarios.scenario_family`.

Every scenario is shaped to be caught by the detectors as configured by
default, and every look-alike to be passed by them:

* ``unsuitable_risk_level``: a product one level or more above the
  customer's risk tolerance. Look-alikes: a product at or below the tolerance.
* ``elderly_unsuitable_product``: a customer of 65 or over (sometimes exactly
  65) sold an investment-linked, long-term savings or annuity product that
  is otherwise suitable. Look-alikes: a 64-year-old buying investment-linked,
  a 70-year-old buying health cover.
* ``premium_unaffordable``: an annual premium just over, around half of or
  most of the declared income (30% is the limit). Look-alikes: exactly 30%,
  well within it.
* ``agent_outlier_*``: a tied agent sells 15 to 22 policies in a working
  day, and as many cooling-off cancellations, early surrenders, failed
  callbacks or complaints arrive as the peer test needs to reach p < 1e-5
  (ten times below its threshold) against a peer rate half again above the
  company prior, plus up to two more; steady, in a burst, or interleaved with
  the sales. Look-alikes: a small sample (a few sales, one or two events), a
  busy agent at an ordinary rate, and a high rate on fewer than 10 policies.
* ``integrity_below_threshold``: a dedicated agent loses 45 to 51 points in a
  day (banned phrases, unsuitable sales, mis-selling complaints, cooling-off
  cancellations, failed callbacks). Look-alikes lose 24 to 30 points.
* ``churning``: a dedicated customer surrenders or cancels a policy and buys
  a new one through the same agent within hours, in either order, or twice.
  Look-alikes: the new policy through another agent, a policy bought and
  cancelled itself, a surrender with nothing bought.

Deductions of the integrity score are kept at least 5 points (a cooling-off
cancellation) away from the threshold, so the agent's ordinary business in
the background cannot decide an alert; where a scenario's own deductions do
cross it, or its events raise another typology's alert (the banned phrase of
an integrity scenario, the complaint spike of a complaint-rate outlier), a
side truth (:meth:`ScenarioBuilder.side_truth`) labels that alert too.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from random import Random

from detectors.agent_peers import AgentPeerConfig
from detectors.complaint_spike import ComplaintSpikeConfig
from detectors.stats import beta_binomial_sf
from detectors.suitability import load_rules
from streams.generator import feed
from streams.generator.background import MINUTE_MS
from streams.generator.population import Policy, Population
from streams.generator.scenarios import ScenarioBuilder, ScenarioFunction, scenario_family
from streams.generator.timeline import DAY_MS, HOUR_MS, LOCAL_OFFSET_MS
from streams.generator.transcripts import PHRASE_VARIANTS, clean_transcript, misleading_transcript

SUITABILITY = load_rules()
PEERS = AgentPeerConfig()
#: The peer rate a scenario must beat: the company prior, half again, in case its branch runs high.
PEER_RATE_MARGIN = 1.5
#: How far below the peer test's threshold a scenario's count must reach.
P_VALUE_MARGIN = 10.0
ELDERLY_AGE = SUITABILITY["elderly"]["min_age"]
ELDERLY_CATEGORIES = tuple(SUITABILITY["elderly"]["categories"])
MAX_SHARE = SUITABILITY["affordability"]["max_income_share"]
HIGH_SHARE = SUITABILITY["affordability"]["high_income_share"]
#: Typologies of detectors that alert on each failed callback and each mis-selling complaint.
CALLBACK_FAILED, MIS_SELLING_COMPLAINT = "callback_failed", "mis_selling_complaint"
#: The typology of each suitability rule.
RULE_TYPOLOGY = {name: SUITABILITY[name]["typology"] for name in ("risk_level", "elderly", "affordability")}
#: Complaints within a day from which an agent with no history has a complaint spike.
SPIKE_MIN_COMPLAINTS = ComplaintSpikeConfig().min_complaints
NON_MIS_SELLING = ("service_attitude", "billing", "claims_service", "other")
PEER_SHAPES = ("steady", "burst", "interleaved")
PEER_BENIGN = ("small_sample", "busy_ordinary_rate", "high_rate_few_policies")
#: metric -> (typology, prior rate field of AgentPeerConfig)
PEER_METRICS = {
    "cooling_off": ("agent_outlier_cooling_off", "prior_cooling_off_rate"),
    "surrender": ("agent_outlier_surrender", "prior_early_surrender_rate"),
    "callback_failure": ("agent_outlier_callback_failure", "prior_callback_failure_rate"),
    "complaints": ("agent_outlier_complaints", "prior_complaint_rate"),
}

Result = tuple[str, str, list[int]]


def events_needed(exposure: int, prior_rate: float, config: AgentPeerConfig = PEERS) -> int:
    """The fewest events in ``exposure`` that the peer test flags with room to
    spare: p below ``p_value / P_VALUE_MARGIN`` against a peer rate of
    ``PEER_RATE_MARGIN`` times the prior (at least ``min_events``)."""
    rate = prior_rate * PEER_RATE_MARGIN
    a, b = rate * config.concentration, (1 - rate) * config.concentration
    for k in range(config.min_events, exposure + 1):
        significant = beta_binomial_sf(k, exposure, a, b) < config.p_value / P_VALUE_MARGIN
        if significant and k >= config.min_rate_ratio * rate * exposure:
            return k
    raise ValueError(f"no count out of {exposure} is significant: raise the exposure")


class MisSellingScenarios:
    """Builds the scenarios of this module into a :class:`ScenarioBuilder`."""

    def __init__(self, builder: ScenarioBuilder) -> None:
        self.b = builder
        self.pop: Population = builder.pop
        self.rng: Random = builder.rng

    # --- people and times -----------------------------------------------------------
    def _agent(self) -> int:
        """A dedicated agent (no background complaints, in no other scenario), tied to
        the insurer if possible, in the branch with the fewest dedicated agents."""
        pop, reserved = self.pop, self.b.reserved.quiet_agents
        load = {branch: sum(a in reserved for a in members) for branch, members in pop.agents_of_branch.items()}
        free = [a for a in range(len(pop.agents)) if a not in reserved]
        if not free:
            raise ValueError("not enough agents for the scenarios: raise agents")
        pool = [a for a in free if pop.agents[a].partner_id is None] or free
        least = min(load[pop.agents[a].branch_id] for a in pool)
        agent = self.rng.choice([a for a in pool if load[pop.agents[a].branch_id] == least])
        reserved.add(agent)
        return agent

    def _buyer(self, accept: Callable[[int], bool] = lambda ci: True) -> int:
        """A customer with no policy ending in the run (background leaves buyers' policies alone)."""
        pop, reserved = self.pop, self.b.reserved
        for _ in range(20_000):
            ci = self.rng.randrange(len(pop.customers))
            if ci not in reserved.customers and accept(ci):
                reserved.buyers.add(ci)
                return ci
        raise ValueError("not enough customers for the scenarios: raise customers")

    def _leaver(self) -> int:
        """A working-age customer with no other activity in the run and no purchase in any
        scenario (a policy of theirs will end: with a purchase through the same agent, churning)."""
        pop, reserved = self.pop, self.b.reserved
        for _ in range(20_000):
            ci = self.rng.randrange(len(pop.customers))
            if ci not in reserved.customers and ci not in reserved.buyers and 25 <= pop.customers[ci].age < 65:
                reserved.customers.add(ci)
                return ci
        raise ValueError("not enough customers for the scenarios: raise customers")

    def _window(self, span_ms: int) -> int:
        """A start between 08:00 and 12:00 local time on a day of the timeline, so that
        ``[start, start + span_ms]`` lies in the timeline and (for spans up to 8 h) in the working day."""
        tl = self.b.timeline
        first_day = tl.start_ms - (tl.start_ms + LOCAL_OFFSET_MS) % DAY_MS
        days = tl.duration_ms // DAY_MS + 1
        for _ in range(200):
            start = first_day + self.rng.randrange(days) * DAY_MS + 8 * HOUR_MS + int(self.rng.random() * 4 * HOUR_MS)
            if tl.start_ms <= start and start + span_ms < tl.end_ms:
                return start
        return self.b._start("service", span_ms)

    def _quiet_window(self, agent: int, span_ms: int) -> int:
        """A :meth:`_window` start at which the agent's branch has no complaint from other
        scenarios within a day either side, so that its complaints make no branch spike."""
        branch = self.pop.agents[agent].branch_id
        filed = [ms for ms, event in self.b.log.added()
                 if event["event_type"] == "complaint_filed" and event.get("branch_id") == branch]
        start = self._window(span_ms)
        for _ in range(50):
            if not any(start - DAY_MS <= ms <= start + span_ms + DAY_MS for ms in filed):
                break
            start = self._window(span_ms)
        return start

    def _spread(self, start: int, span_ms: int, n: int) -> list[int]:
        """``n`` sorted times in ``[start, start + span_ms]``, whole minutes apart at least."""
        return sorted(start + MINUTE_MS * self.rng.randrange(max(1, span_ms // MINUTE_MS)) for _ in range(n))

    # --- sales ----------------------------------------------------------------------
    def _transcript(self, policy: Policy, phrase: bool = False) -> str:
        pop, rng = self.pop, self.rng
        customer = pop.customers[policy.customer]
        kw = dict(name=customer.name, agent_id=pop.agents[policy.agent].agent_id,
                  product=pop.products[policy.product], premium=policy.premium,
                  personal=(customer.name, customer.phone, customer.id_number))
        if phrase:
            return misleading_transcript(rng, self.b.guard, rng.choice(PHRASE_VARIANTS), **kw)[0]
        return clean_transcript(rng, self.b.guard, english=rng.random() < 0.15, **kw)

    def _sell(self, ms: int, policy: Policy, phrase: bool = False, issue: bool = True,
              callback: bool = True, pay: bool = True) -> int:
        """The sale recorded at ``ms``, issued minutes later, (usually, if ``pay``) its
        first premium paid and its callback made; returns the issue time."""
        log, pop, rng = self.b.log, self.pop, self.rng
        feed.sale_recorded(log, ms, pop, policy, self._transcript(policy, phrase))
        if not issue:
            return ms
        issued = ms + rng.randint(5, 40) * MINUTE_MS
        feed.policy_issued(log, issued, pop, policy)
        if pay and rng.random() < 0.7:
            paid = issued + rng.randint(2, 60) * MINUTE_MS
            feed.premium_paid(log, paid, pop, policy, feed.instalment(policy), rng.choice(("bank_transfer", "mobile")))
        if callback:
            self._callback(policy, issued + rng.randint(1, 30) * HOUR_MS)
        return issued

    def _callback(self, policy: Policy, due: int, failed_reason: str | None = None) -> int | None:
        """The callback at ``due`` or the next office hour, if that is within the timeline; a failed
        one has a side truth (each failed callback is an alert). Returns its time."""
        called = self.b.timeline.next_open(self.rng, "service", due)
        if called >= self.b.timeline.end_ms:
            return None
        feed.callback(self.b.log, called, self.pop, policy, failed_reason)
        if failed_reason:
            self.b.side_truth(CALLBACK_FAILED, "policy", policy.policy_id, [called])
        return called

    def _complaint(self, ms: int, policy: Policy, agent: int, category: str) -> None:
        """A complaint about ``policy``; a mis-selling one has a side truth (each is an alert)."""
        pop = self.pop
        complaint_id = pop.ids.complaint_id()
        feed.complaint_filed(self.b.log, ms, pop, complaint_id, policy.customer, agent, category, policy)
        if category == "mis_selling":
            self.b.side_truth(MIS_SELLING_COMPLAINT, "complaint", complaint_id, [ms])

    def _suitable_sale(self, agent: int, ms: int) -> Policy:
        policy = self.pop.new_policy(self.rng, self._buyer(), agent)
        self._sell(ms, policy)
        return policy

    def _products(self, test: Callable) -> list[int]:
        return [i for i, p in enumerate(self.pop.products) if test(p)]

    def unsuitable_policy(self, agent: int, rule: str, variant: str = "") -> Policy:
        """A policy sold through ``agent`` that breaks the suitability ``rule`` and no other
        (a variant of the rule's scenario shapes it: ``far_above``, ``exactly_65``, ``annuity``...)."""
        pop, rng = self.pop, self.rng

        def products(ci: int) -> list[int]:
            customer = pop.customers[ci]
            tolerance, elderly = customer.risk_tolerance, customer.age >= ELDERLY_AGE
            if rule == "risk_level":
                above = (lambda r: r >= tolerance + 2) if variant == "far_above" else (lambda r: r == tolerance + 1)
                return [] if elderly else self._products(lambda p: above(p.risk_level))
            if rule == "elderly":
                if not elderly or (variant == "exactly_65" and customer.age != ELDERLY_AGE):
                    return []
                categories = (variant,) if variant in ELDERLY_CATEGORIES else ELDERLY_CATEGORIES
                return self._products(lambda p: p.risk_level <= tolerance and p.category in categories)
            return [] if elderly else self._products(lambda p: p.risk_level <= tolerance)

        ci = self._buyer(lambda c: bool(products(c)))
        premium = None  # drawn around the product's median, within the customer's means
        if rule == "affordability":
            low, high = {"just_over": (MAX_SHARE + 0.01, MAX_SHARE + 0.1),
                         "half_income": (0.45, HIGH_SHARE - 0.01)}.get(variant, (HIGH_SHARE + 0.05, 0.95))
            premium = round(pop.customers[ci].income * rng.uniform(low, high), 2)
        return pop.new_policy(rng, ci, agent, product_index=rng.choice(products(ci)), premium=premium)

    def _unsuitable_sale(self, agent: int, ms: int, rule: str, variant: str = "") -> Policy:
        """An unsuitable sale, with a side truth for its alert."""
        policy = self.unsuitable_policy(agent, rule, variant)
        self._sell(ms, policy, issue=self.rng.random() < 0.5, pay=rule != "affordability")
        self.b.side_truth(RULE_TYPOLOGY[rule], "policy", policy.policy_id, [ms])
        return policy

    def _phrase_sale(self, agent: int, ms: int) -> Policy:
        """A sale whose transcript holds a banned phrase, with a side truth for its alert."""
        policy = self.pop.new_policy(self.rng, self._buyer(), agent)
        self._sell(ms, policy, phrase=True, issue=self.rng.random() < 0.5)
        self.b.side_truth("misleading_sales_phrase", "policy", policy.policy_id, [ms])
        return policy

    # --- suitability ----------------------------------------------------------------
    def suitability(self, rule: str) -> Callable[[str], Result]:
        def scenario(variant: str) -> Result:
            agent = self._agent()
            policy = self.unsuitable_policy(agent, rule, variant)
            ms = self._window(2 * HOUR_MS)
            # An unaffordable premium stays unpaid in the run: a payment of most of a year's income
            # would also be an amount anomaly, which is not what these scenarios are about.
            self._sell(ms, policy, issue=variant != "recorded_only", pay=rule != "affordability")
            return "policy", policy.policy_id, [ms]
        return scenario

    def suitability_benign(self, rule: str) -> Callable[[str], Result]:
        pop, rng = self.pop, self.rng

        def scenario(variant: str) -> Result:
            agent = self._agent()
            if variant in ("at_tolerance", "below_tolerance"):
                ci = self._buyer(lambda c: pop.customers[c].age < ELDERLY_AGE and pop.customers[c].risk_tolerance > 1)
                tolerance = pop.customers[ci].risk_tolerance
                test = (lambda r: r == tolerance) if variant == "at_tolerance" else (lambda r: r < tolerance)
                choices = self._products(lambda p: test(p.risk_level)) or self._products(
                    lambda p: p.risk_level <= tolerance)
                premium = None
            elif variant == "aged_64_investment_linked":
                ci = self._buyer(lambda c: pop.customers[c].age == ELDERLY_AGE - 1 and any(
                    p.category == "investment_linked" and p.risk_level <= pop.customers[c].risk_tolerance
                    for p in pop.products))
                tolerance = pop.customers[ci].risk_tolerance
                choices = self._products(lambda p: p.category == "investment_linked" and p.risk_level <= tolerance)
                premium = None
            elif variant == "elderly_health_cover":
                ci = self._buyer(lambda c: pop.customers[c].age >= ELDERLY_AGE + 5)
                choices = self._products(lambda p: p.category in ("health", "motor") and p.risk_level == 1)
                premium = None
            else:  # exactly_at_share, well_within
                ci = self._buyer(lambda c: pop.customers[c].age < ELDERLY_AGE)
                tolerance = pop.customers[ci].risk_tolerance
                choices = self._products(lambda p: p.risk_level <= tolerance)
                income = pop.customers[ci].income
                premium = round(income * MAX_SHARE, 2) if variant == "exactly_at_share" else \
                    round(income * rng.uniform(0.15, MAX_SHARE - 0.02), 2)
            policy = pop.new_policy(rng, ci, agent, product_index=rng.choice(choices), premium=premium)
            ms = self._window(2 * HOUR_MS)
            self._sell(ms, policy, pay=rule != "affordability")
            return "policy", policy.policy_id, [ms]
        return scenario

    # --- agents out of line with their peers ----------------------------------------
    def peer_outlier(self, metric: str) -> Callable[[str], Result]:
        prior = getattr(PEERS, PEER_METRICS[metric][1])

        def scenario(variant: str) -> Result:
            rng = self.rng
            agent = self._agent()
            # Complaints stay few enough (at most 8) that with the branch's own they make no branch spike.
            sold = rng.randint(15, 17 if metric == "complaints" else 22)
            span = rng.randint(5, 8) * HOUR_MS
            start = self._quiet_window(agent, span) if metric == "complaints" else self._window(span)
            if metric == "callback_failure":
                # Exposure is every callback: the first call of each policy and the retries.
                events = next(k for k in range(PEERS.min_events, sold + 1)
                              if k >= events_needed(sold + k, prior))
            else:
                events = events_needed(sold, prior)
            if metric == "cooling_off":
                events = max(events, 9)  # 45 integrity points or more: clear of the threshold
            events = min(sold, events + (0 if metric == "complaints" else rng.randint(0, 2)))
            if variant == "interleaved" and metric != "callback_failure":  # callbacks need the afternoon
                sale_times = self._spread(start, span, sold)
                event_times = self._spread(start + 30 * MINUTE_MS, span - 30 * MINUTE_MS, events)
            else:
                sale_times = self._spread(start, span // 2, sold)
                event_span = HOUR_MS if variant == "burst" else span - span // 2
                event_times = self._spread(start + span - event_span, event_span, events)
            times = self._metric(metric, agent, sale_times, event_times)
            return "agent", self.pop.agents[agent].agent_id, times
        return scenario

    def _metric(self, metric: str, agent: int, sale_times: list[int], event_times: list[int]) -> list[int]:
        """The agent's sales and ``len(event_times)`` events of ``metric``; returns the evidence times."""
        rng, pop, log = self.rng, self.pop, self.b.log
        agent_id = pop.agents[agent].agent_id
        if metric == "callback_failure":
            # Callbacks an hour or two after issue, in the same working day; a failed one is
            # retried a few hours later (and succeeds, if the timeline lasts that long).
            policies = [self.pop.new_policy(rng, self._buyer(), agent) for _ in sale_times]
            failing = set(rng.sample(range(len(policies)), k=len(event_times)))
            times = list(sale_times)
            for i, (ms, policy) in enumerate(zip(sale_times, policies)):
                due = self._sell(ms, policy, callback=False) + rng.randint(60, 120) * MINUTE_MS
                if i not in failing:
                    self._callback(policy, due)
                    continue
                called = self._callback(policy, due, rng.choice(("no_answer", "number_not_in_service",
                                                                 "customer_refused")))
                if called is None:
                    raise ValueError("a failed callback of the scenario fell after the end of the timeline")
                times.append(called)
                self._callback(policy, called + rng.randint(2, 6) * HOUR_MS)
            return times
        policies = [self._suitable_sale(agent, ms) for ms in sale_times]
        if metric == "complaints":
            complainants = rng.sample(policies, k=min(len(policies), len(event_times)))
            style = rng.choice(("service", "mixed"))
            deductions = []
            for ms, policy in zip(event_times, complainants):
                category = rng.choice(NON_MIS_SELLING) if style == "service" or rng.random() < 0.7 \
                    else "mis_selling"
                self._complaint(ms, policy, agent, category)
                if category == "mis_selling":
                    deductions.append((ms, "mis_selling_complaint"))
            if len(event_times) >= SPIKE_MIN_COMPLAINTS:  # all within a day: a complaint spike too
                self.b.side_truth("complaint_spike", "agent", agent_id, event_times)
            self.b.integrity_side_truth(agent, deductions)
            return sale_times + event_times
        deductions = []
        for ms in event_times:
            ci = self._leaver()
            if metric == "cooling_off":
                policy = pop.new_policy(rng, ci, agent, issued_days_ago=rng.randint(1, 14))
                amount = feed.instalment(policy)
                feed.policy_ended(log, ms, pop, policy, "cooling_off_cancelled", amount, policy.issued_days_ago)
                payout = "refund"
                deductions.append((ms, "cooling_off_cancelled"))
            else:
                policy = pop.new_policy(rng, ci, agent, issued_days_ago=rng.randint(30, PEERS.early_surrender_days))
                amount = round(policy.premium * policy.issued_days_ago / 365 * rng.uniform(0.3, 0.7), 2)
                feed.policy_ended(log, ms, pop, policy, "surrendered", max(amount, 1.0), policy.issued_days_ago)
                payout = "surrender_payout"
            paid = ms + rng.randint(1, 6) * HOUR_MS
            if paid < self.b.timeline.end_ms:
                feed.payout(log, paid, pop, policy, payout, max(amount, 1.0))
        self.b.integrity_side_truth(agent, deductions)
        return sale_times + event_times

    def peer_benign(self, metric: str) -> Callable[[str], Result]:
        def scenario(variant: str) -> Result:
            rng = self.rng
            agent = self._agent()
            span = rng.randint(3, 6) * HOUR_MS
            start = self._quiet_window(agent, span) if metric == "complaints" else self._window(span)
            if variant == "small_sample":  # e.g. a new agent: a few sales and one or two events
                sold, events = rng.randint(2, 6), rng.randint(1, 2)
            elif variant == "busy_ordinary_rate":  # tested (10 policies or more), and passed
                sold, events = rng.randint(PEERS.min_exposure, PEERS.min_exposure + 4), 1
            else:  # a high rate, but on fewer policies (callbacks) than the test needs
                sold = rng.randint(4, PEERS.min_exposure // 2)
                events = SPIKE_MIN_COMPLAINTS - 1 if metric == "complaints" else PEERS.min_events
            sale_times = self._spread(start, span // 2, sold)
            event_times = self._spread(start + span // 2, span - span // 2, events)
            times = self._metric(metric, agent, sale_times, event_times)
            return "agent", self.pop.agents[agent].agent_id, times
        return scenario

    # --- integrity score ------------------------------------------------------------
    INTEGRITY_PLANS: dict[str, list[str]] = {
        # 50, 45, 51 and 50 points: scores of 49 to 55, all below 60 on their own.
        "phrase_and_unsuitable": ["banned_phrase", "unsuitable_sale", "unsuitable_sale"],
        "unsuitable_sales": ["unsuitable_sale"] * 3,
        "phrase_and_cancellations": ["banned_phrase"] + ["cooling_off_cancelled"] * 5 + ["callback_failed"] * 3,
        "complaints_and_phrase": ["mis_selling_complaint"] * 2 + ["banned_phrase"],
        # Look-alikes: 30, 24 and 25 points, scores of 70 to 76.
        "two_unsuitable_sales": ["unsuitable_sale"] * 2,
        "phrase_and_callbacks": ["banned_phrase"] + ["callback_failed"] * 2,
        "unsuitable_and_cancellations": ["unsuitable_sale"] + ["cooling_off_cancelled"] * 2,
    }

    def integrity(self, variant: str) -> Result:
        rng, pop, log = self.rng, self.pop, self.b.log
        agent = self._agent()
        plan = list(self.INTEGRITY_PLANS[variant])
        rng.shuffle(plan)
        span = rng.randint(3, 7) * HOUR_MS
        start = self._quiet_window(agent, span) if "mis_selling_complaint" in plan else self._window(span)
        times = self._spread(start, span, len(plan))
        evidence = []
        for ms in self._spread(start, span, rng.randint(1, 4)):  # ordinary sales around them
            self._suitable_sale(agent, ms)
        for ms, signal in zip(times, plan):
            evidence.append(ms)
            if signal == "banned_phrase":
                self._phrase_sale(agent, ms)
            elif signal == "unsuitable_sale":
                rule = rng.choice(tuple(RULE_TYPOLOGY))
                self._unsuitable_sale(agent, ms, rule, rng.choice(SUITABILITY_VARIANTS[rule][0]))
            elif signal == "mis_selling_complaint":
                policy = self._suitable_sale(agent, max(start, ms - rng.randint(10, 60) * MINUTE_MS))
                self._complaint(ms, policy, agent, "mis_selling")
            elif signal == "cooling_off_cancelled":
                policy = pop.new_policy(rng, self._leaver(), agent, issued_days_ago=rng.randint(1, 14))
                feed.policy_ended(log, ms, pop, policy, "cooling_off_cancelled", feed.instalment(policy),
                                  policy.issued_days_ago)
            else:  # callback_failed, on a policy sold a few days ago
                policy = pop.new_policy(rng, self._buyer(), agent, issued_days_ago=rng.randint(1, 2))
                ms = self._callback(policy, ms, "no_answer") or ms
                evidence[-1] = ms
        return "agent", pop.agents[agent].agent_id, evidence

    # --- churning -------------------------------------------------------------------
    def _end(self, ms: int, policy: Policy, kind: str) -> None:
        log, pop, rng = self.b.log, self.pop, self.rng
        if kind == "cooling_off_cancelled":
            amount, payout = feed.instalment(policy), "refund"
        else:
            amount = round(policy.premium * min(policy.issued_days_ago / 365, 20) * rng.uniform(0.4, 0.9), 2)
            payout = "surrender_payout"
        feed.policy_ended(log, ms, pop, policy, kind, max(amount, 1.0), policy.issued_days_ago)
        paid = ms + rng.randint(2, 8) * HOUR_MS
        if paid < self.b.timeline.end_ms:
            feed.payout(log, paid, pop, policy, payout, max(amount, 1.0))

    def _old_policy(self, ci: int, agent: int, kind: str) -> Policy:
        days = self.rng.randint(2, 14) if kind == "cooling_off_cancelled" else self.rng.randint(180, 8 * 365)
        return self.pop.new_policy(self.rng, ci, agent, issued_days_ago=days)

    def churning(self, variant: str) -> Result:
        rng = self.rng
        ci, agent = self._leaver(), self._agent()
        span = rng.randint(1, 6) * HOUR_MS
        start = self._window(span)
        kinds = {"cooling_off_then_new": ["cooling_off_cancelled"], "two_replacements":
                 ["surrendered", rng.choice(("surrendered", "cooling_off_cancelled"))]}.get(variant, ["surrendered"])
        times = self._spread(start, span, len(kinds) + 1)
        new_at, exits = (times[0], times[1:]) if variant == "new_then_surrender" else (times[-1], times[:-1])
        for ms, kind in zip(exits, kinds):
            self._end(ms, self._old_policy(ci, agent, kind), kind)
        self._sell(new_at, self.pop.new_policy(rng, ci, agent))
        return "customer", self.pop.customers[ci].customer_id, [*exits, new_at]

    def churning_benign(self, variant: str) -> Result:
        rng, pop = self.rng, self.pop
        ci, agent = self._leaver(), self._agent()
        span = rng.randint(1, 6) * HOUR_MS
        start = self._window(span)
        first, second = self._spread(start, span, 2)
        if variant == "different_agent":
            kind = rng.choice(("surrendered", "cooling_off_cancelled"))
            self._end(first, self._old_policy(ci, agent, kind), kind)
            self._sell(second, pop.new_policy(rng, ci, self._agent()))
        elif variant == "bought_then_cancelled_itself":
            policy = pop.new_policy(rng, ci, agent)
            self._sell(first, policy)
            self._end(second, policy, "cooling_off_cancelled")
        else:  # surrender_only
            self._end(first, self._old_policy(ci, agent, "surrendered"), "surrendered")
            second = first
        return "customer", pop.customers[ci].customer_id, [first, second]


def _family(make: Callable[[MisSellingScenarios], ScenarioFunction], variants: Sequence[str]):
    return lambda builder: (make(MisSellingScenarios(builder)), tuple(variants))


SUITABILITY_VARIANTS = {
    "risk_level": (("one_level_above", "far_above", "recorded_only"), ("at_tolerance", "below_tolerance")),
    "elderly": (("investment_linked", "long_term_savings", "annuity", "exactly_65"),
                ("aged_64_investment_linked", "elderly_health_cover")),
    "affordability": (("just_over", "half_income", "most_of_income"), ("exactly_at_share", "well_within")),
}
for _rule, (_variants, _benign) in SUITABILITY_VARIANTS.items():
    scenario_family(RULE_TYPOLOGY[_rule], False)(_family(lambda s, r=_rule: s.suitability(r), _variants))
    scenario_family(RULE_TYPOLOGY[_rule], True)(_family(lambda s, r=_rule: s.suitability_benign(r), _benign))
for _metric, (_typology, _) in PEER_METRICS.items():
    scenario_family(_typology, False)(_family(lambda s, m=_metric: s.peer_outlier(m), PEER_SHAPES))
    scenario_family(_typology, True)(_family(lambda s, m=_metric: s.peer_benign(m), PEER_BENIGN))
scenario_family("integrity_below_threshold", False)(_family(
    lambda s: s.integrity, ("phrase_and_unsuitable", "unsuitable_sales", "phrase_and_cancellations",
                            "complaints_and_phrase")))
scenario_family("integrity_below_threshold", True)(_family(
    lambda s: s.integrity, ("two_unsuitable_sales", "phrase_and_callbacks", "unsuitable_and_cancellations")))
scenario_family("churning", False)(_family(
    lambda s: s.churning, ("surrender_then_new", "new_then_surrender", "cooling_off_then_new", "two_replacements")))
scenario_family("churning", True)(_family(
    lambda s: s.churning_benign, ("different_agent", "bought_then_cancelled_itself", "surrender_only")))

#: The typologies this module injects, in the order the generator builds them.
TYPOLOGIES = (*(RULE_TYPOLOGY[r] for r in SUITABILITY_VARIANTS), *(t for t, _ in PEER_METRICS.values()),
              "integrity_below_threshold", "churning")
