"""Injected risk scenarios and their benign look-alikes, each with a truth record.

Every scenario is shaped to be caught by the detectors *as configured by
default* (``detectors/*.py``), and every look-alike to be passed by them:

* ``misleading_sales_phrase``: one sale (of a savings, annuity or
  investment-linked product where the customer may be sold one) whose
  transcript holds a listed phrase: plain Chinese, English, full-width, broken
  up by spaces or punctuation, mixed case, English inside a Chinese pitch.
  Look-alike: a sale that talks about returns in allowed language (no listed
  phrase at all, not even a negated one).
* ``structuring``: one payer account makes 3 to 5 cash premium payments in the
  near-threshold band (40,000 to 49,999.99 CNY) within at most 70 hours (the
  window is 72 h), for one or several policies, sometimes between ordinary
  payments. Look-alikes: one large transfer, one or two near-threshold cash
  payments, a series of small cash payments, near-threshold transfers, and
  (on timelines of a week or more) near-threshold cash payments 80 h apart.
* ``complaint_spike``: one agent with no other complaints draws 4 to 8
  complaints within at most 12 hours; the third already fires, because with
  no history the baseline predicts 0.02 complaints a day. Look-alikes: an
  agent with one or two complaints, or two pairs more than a day apart.

Scenario entities are dedicated members of the population (reserved so the
background leaves them alone) or fresh policies, so scenarios never collide.
Truth windows span the scenario's evidence events (epoch seconds).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from random import Random

from detectors.integrity_score import load_integrity_rules
from streams.generator import feed
from streams.generator.background import MINUTE_MS, Reserved, near_threshold_band
from streams.generator.model import EventLog, TruthRecord
from streams.generator.population import Policy, Population
from streams.generator.timeline import HOUR_MS, Timeline
from streams.generator.transcripts import (
    PHRASE_VARIANTS,
    RETURNS_TALK_EN,
    RETURNS_TALK_ZH,
    PhraseGuard,
    clean_transcript,
    misleading_transcript,
)

STRUCTURING_VARIANTS = ("single_policy", "several_policies", "with_ordinary_payments")
STRUCTURING_AMOUNT_STYLES = ("round", "jittered", "near_top")
#: Longest span of a structuring episode: inside the detector's 72 h window with room to spare.
STRUCTURING_MAX_SPAN_MS = 70 * HOUR_MS
SPIKE_SHAPES = ("burst", "afternoon", "two_waves")
SPIKE_CATEGORY_STYLES = ("mis_selling", "mixed", "claims_service")
#: Products whose sales talk is about returns: where misleading phrases (and the
#: allowed way of discussing yield) come up.
RETURN_PRODUCTS = ("investment_linked", "long_term_savings", "annuity")


#: The agent integrity score's rule book, for the side truths of scenarios that cost integrity points.
INTEGRITY_RULES = load_integrity_rules()

#: A scenario function takes a variant name and returns (entity_type, entity_id,
#: event times in ms of the evidence events), having written its events to
#: ``builder.log``.
ScenarioFunction = Callable[[str], tuple[str, str, list[int]]]
#: Scenario families kept in their own modules register here:
#: (typology, benign) -> factory(builder) -> (scenario function, variants).
SCENARIO_FAMILIES: dict[tuple[str, bool], Callable[["ScenarioBuilder"], tuple[ScenarioFunction, Sequence[str]]]] = {}


def scenario_family(typology: str, benign: bool):
    """Decorator for a factory ``(builder) -> (function, variants)`` of one typology's scenarios."""

    def register(factory):
        if (typology, benign) in SCENARIO_FAMILIES:
            raise ValueError(f"scenario family {typology!r} (benign={benign}) registered twice")
        SCENARIO_FAMILIES[(typology, benign)] = factory
        return factory

    return register


class ScenarioBuilder:
    """Builds scenarios into :attr:`log` and :attr:`truths`, reserving entities in :attr:`reserved`."""

    def __init__(self, pop: Population, timeline: Timeline, rng: Random, guard: PhraseGuard) -> None:
        self.pop = pop
        self.timeline = timeline
        self.rng = rng
        self.guard = guard
        self.log = EventLog()
        self.truths: list[TruthRecord] = []
        self.reserved = Reserved()
        self._counts: dict[tuple[str, bool], int] = {}
        self._side_counts: dict[str, int] = {}
        self._planned: dict[tuple[str, bool], int] = {}
        #: Partner id -> registry changes a scenario made (``status_changes``: [(status, reason, ms)],
        #: ``qualification_valid_until``: ms); see ``streams.generator.partner_registry``.
        self.partner_registry: dict[str, dict] = {}

    def build(self, typology: str, count: int, benign: bool) -> None:
        """``count`` scenarios (or look-alikes) of ``typology``, cycling through its variants."""
        make = {
            ("misleading_sales_phrase", False): (self._misleading, PHRASE_VARIANTS),
            ("misleading_sales_phrase", True): (self._returns_talk, ("returns_talk_zh", "returns_talk_en")),
            ("structuring", False): (self._structuring, STRUCTURING_VARIANTS),
            ("structuring", True): (self._structuring_benign, self._structuring_benign_variants()),
            ("complaint_spike", False): (self._spike, SPIKE_SHAPES),
            ("complaint_spike", True): (self._spike_benign, self._spike_benign_variants()),
        }
        if (typology, benign) in make:
            function, variants = make[(typology, benign)]
        else:
            function, variants = SCENARIO_FAMILIES[(typology, benign)](self)
        offset = self.rng.randrange(len(variants))
        self._planned[(typology, benign)] = count
        for k in range(count):
            variant = variants[(offset + k) % len(variants)]
            number = self._counts.get((typology, benign), 0) + 1
            self._counts[(typology, benign)] = number
            entity_type, entity_id, times = function(variant)
            scenario_id = f"{typology}-{'benign-' if benign else ''}{number:03d}-{variant}"
            self.truths.append(TruthRecord(scenario_id, typology, entity_type, entity_id,
                                           min(times) / 1000, max(times) / 1000, benign))

    def place(self, typology: str, benign: bool) -> tuple[int, int]:
        """``(index, count)`` of the scenario being built among the ``count`` of its typology
        that this :meth:`build` makes: for scenarios that take turns in time."""
        return self._counts[(typology, benign)] - 1, self._planned[(typology, benign)]

    def side_truth(self, typology: str, entity_type: str, entity_id: str, times: list[int]) -> None:
        """Truth for an alert that a scenario raises beyond its own typology (a burst of
        mis-selling complaints also sinks the agent's integrity score); ``times`` (ms)
        are its evidence events. Its id reads ``<typology>-side-<number>``; it counts
        like any scenario of ``typology``."""
        number = self._side_counts.get(typology, 0) + 1
        self._side_counts[typology] = number
        self.truths.append(TruthRecord(f"{typology}-side-{number:03d}", typology, entity_type, entity_id,
                                       min(times) / 1000, max(times) / 1000, False))

    def integrity_side_truth(self, agent: int, deductions: list[tuple[int, str]]) -> None:
        """A side truth when ``deductions`` (ms, signal of ``detectors/data/integrity_rules.json``)
        that a scenario gives ``agent`` take the agent's integrity score below the threshold.

        Scenarios keep their deductions at least a cooling-off (5 points) clear of the
        threshold, so the agent's ordinary business cannot decide it."""
        rules = INTEGRITY_RULES
        points = sum(rules["deductions"][signal]["points"] for _, signal in deductions)
        if rules["start_score"] - points < rules["threshold"]:
            self.side_truth("integrity_below_threshold", "agent", self.pop.agents[agent].agent_id,
                            [ms for ms, _ in deductions])

    # --- shared helpers -------------------------------------------------------------
    def _start(self, profile: str, span_ms: int) -> int:
        """A start time that leaves ``span_ms`` before the end of the timeline."""
        return self.timeline.sample(self.rng, profile, hi=self.timeline.end_ms - span_ms - MINUTE_MS)

    def _times(self, start: int, span_ms: int, n: int) -> list[int]:
        """``n`` increasing times from ``start`` to ``start + span_ms``, at least a minute apart."""
        inner = sorted(self.rng.sample(range(1, max(n, span_ms // MINUTE_MS)), n - 2)) if n > 2 else []
        return ([start] + [start + i * MINUTE_MS for i in inner] + [start + span_ms]) if n > 1 else [start]

    def _span(self, low_ms: int, high_ms: int) -> int:
        """A random span, shrunk to fit inside nine tenths of the timeline."""
        span = low_ms + int(self.rng.random() * (high_ms - low_ms))
        return max(10 * MINUTE_MS, min(span, int(0.9 * self.timeline.duration_ms)))

    def open_to_business(self, agent: int) -> bool:
        """Whether a scenario may do business through ``agent``: not if the agent works for a
        partner set aside for another scenario (``Reserved.partners``)."""
        return self.pop.agents[agent].partner_id not in self.reserved.partners

    def _dedicated_customer(self) -> int:
        """A working-age customer nobody else uses (no other scenario's, not even as a
        buyer), reserved from the background; a customer of a tied agent if possible (the
        policies and money of a partner's customers count on the partner's scorecard), and
        never one of a partner set aside."""
        reserved, pop = self.reserved, self.pop
        for tied_only in (True, False):
            for _ in range(10_000):
                ci = self.rng.randrange(len(pop.customers))
                customer = pop.customers[ci]
                if ci not in reserved.customers and ci not in reserved.buyers and 25 <= customer.age < 65 \
                        and self.open_to_business(customer.agent) \
                        and not (tied_only and pop.agents[customer.agent].partner_id is not None):
                    self.reserved.customers.add(ci)
                    return ci
        raise ValueError("not enough customers for the scenarios: raise customers")

    def _dedicated_agent(self) -> int:
        """An agent in no other scenario, tied to the insurer if possible: a burst of complaints
        against a partner's agent would load the partner's scorecard too."""
        free = [a for a in range(len(self.pop.agents))
                if a not in self.reserved.quiet_agents and self.open_to_business(a)]
        pool = [a for a in free if self.pop.agents[a].partner_id is None] or free
        if not pool:
            raise ValueError("not enough agents for the scenarios: raise agents")
        agent = self.rng.choice(pool)
        self.reserved.quiet_agents.add(agent)
        return agent

    def _book_policy(self, ci: int) -> Policy:
        return self.pop.new_policy(self.rng, ci, issued_days_ago=self.rng.randint(30, 5 * 365))

    # --- misleading sales phrase ----------------------------------------------------
    def _sale(self, transcript_for) -> tuple[str, str, list[int]]:
        """A sale of a product with returns to a customer it suits (any customer if none can be found)."""
        rng, pop = self.rng, self.pop
        fallback = None
        for _ in range(10_000):
            ci = rng.randrange(len(pop.customers))
            if ci in self.reserved.customers or not self.open_to_business(pop.customers[ci].agent):
                continue
            fallback = ci if fallback is None else fallback
            if any(pop.products[i].category in RETURN_PRODUCTS for i in pop.eligible_products(pop.customers[ci])):
                break
        else:
            if fallback is None:
                raise ValueError("not enough customers for the scenarios: raise customers")
            ci = fallback
        self.reserved.buyers.add(ci)
        policy = pop.new_policy(rng, ci, categories=RETURN_PRODUCTS)
        # A banned phrase costs the agent integrity points: keep other scenarios off this agent.
        self.reserved.quiet_agents.add(policy.agent)
        customer = pop.customers[ci]
        transcript = transcript_for(
            name=customer.name, agent_id=pop.agents[policy.agent].agent_id, product=pop.products[policy.product],
            premium=policy.premium, personal=(customer.name, customer.phone, customer.id_number))
        sold = self.timeline.sample(rng, "sales", hi=self.timeline.end_ms - 4 * HOUR_MS)
        feed.sale_recorded(self.log, sold, pop, policy, transcript)
        if rng.random() < 0.5:  # the sale was not blocked in time and the policy went out
            feed.policy_issued(self.log, sold + rng.randint(5, 180) * MINUTE_MS, pop, policy)
        return "policy", policy.policy_id, [sold]

    def _misleading(self, variant: str) -> tuple[str, str, list[int]]:
        return self._sale(lambda **kw: misleading_transcript(self.rng, self.guard, variant, **kw)[0])

    def _returns_talk(self, variant: str) -> tuple[str, str, list[int]]:
        english = variant.endswith("_en")
        talk = RETURNS_TALK_EN if english else RETURNS_TALK_ZH
        extra = tuple(self.rng.sample(talk, k=self.rng.randint(1, 2)))
        return self._sale(lambda **kw: clean_transcript(self.rng, self.guard, english=english, extra=extra, **kw))

    # --- structuring ----------------------------------------------------------------
    def _cash_amounts(self, n: int) -> list[float]:
        low, threshold = near_threshold_band("cash")
        top = threshold - 0.01
        style = self.rng.choice(STRUCTURING_AMOUNT_STYLES)
        if style == "round":
            picks = [a for a in (45_000.0, 46_000.0, 47_500.0, 48_000.0, 48_500.0, 49_000.0, 49_500.0, 49_900.0)
                     if low <= a <= top]
            return [self.rng.choice(picks) for _ in range(n)]
        floor = max(low, threshold - 1_000.0) if style == "near_top" else low
        return [min(top, round(self.rng.uniform(floor, top), 2)) for _ in range(n)]

    def _structuring(self, variant: str) -> tuple[str, str, list[int]]:
        rng = self.rng
        ci = self._dedicated_customer()
        n = rng.randint(3, 5)
        span = self._span(2 * HOUR_MS, STRUCTURING_MAX_SPAN_MS)
        times = self._times(self._start("payments", span), span, n)
        policies = [self._book_policy(ci)]
        if variant == "several_policies":
            policies += [self._book_policy(ci) for _ in range(rng.randint(1, 2))]
        order = [policies[i % len(policies)] for i in range(n)]
        rng.shuffle(order)
        for ms, amount, policy in zip(times, self._cash_amounts(n), order):
            feed.premium_paid(self.log, ms, self.pop, policy, amount, "cash")
        if variant == "with_ordinary_payments":
            other = self._book_policy(ci)
            for _ in range(rng.randint(1, 2)):
                ms = times[0] + int(rng.random() * (times[-1] - times[0]))
                feed.premium_paid(self.log, ms, self.pop, other, round(rng.uniform(500, 8_000), 2),
                                  rng.choice(("mobile", "card")))
        return "account", self.pop.customers[ci].account_id, times

    def _structuring_benign_variants(self) -> tuple[str, ...]:
        variants = ("large_single_premium", "single_cash_in_band", "two_cash_in_band", "small_cash_series",
                    "band_by_transfer")
        if self.timeline.duration_ms > 2 * 80 * HOUR_MS + 2 * HOUR_MS:
            variants += ("spread_cash_in_band",)
        return variants

    def _structuring_benign(self, variant: str) -> tuple[str, str, list[int]]:
        rng = self.rng
        ci = self._dedicated_customer()
        if variant == "large_single_premium":
            # Paid into a savings-type product, as such premiums are: on a motor or health policy
            # it would be far out of line with the product's premiums (an amount anomaly).
            policy = self.pop.new_policy(rng, ci, issued_days_ago=rng.randint(30, 5 * 365), product_index=rng.choice(
                [i for i, p in enumerate(self.pop.products) if p.category in RETURN_PRODUCTS]))
        else:
            policy = self._book_policy(ci)
        if variant == "large_single_premium":
            plan = [(round(rng.uniform(60_000, 300_000), 2), "bank_transfer")]
            span = 0
        elif variant == "single_cash_in_band":
            plan = [(round(rng.uniform(44_000, 46_000), 2), "cash")]
            span = 0
        elif variant == "two_cash_in_band":
            plan = [(a, "cash") for a in self._cash_amounts(2)]
            span = self._span(HOUR_MS, 40 * HOUR_MS)
        elif variant == "small_cash_series":
            plan = [(round(rng.uniform(3_000, 15_000), 2), "cash") for _ in range(rng.randint(3, 5))]
            span = self._span(HOUR_MS, 24 * HOUR_MS)
        elif variant == "band_by_transfer":
            plan = [(a, "bank_transfer") for a in self._cash_amounts(rng.randint(3, 4))]
            span = self._span(HOUR_MS, 24 * HOUR_MS)
        else:  # spread_cash_in_band: more than the 72 h window between any two
            plan = [(a, "cash") for a in self._cash_amounts(3)]
            span = 2 * 80 * HOUR_MS
        start = self._start("payments", span)
        times = [start + i * 80 * HOUR_MS for i in range(3)] if variant == "spread_cash_in_band" \
            else self._times(start, span, len(plan))
        for ms, (amount, channel) in zip(times, plan):
            feed.premium_paid(self.log, ms, self.pop, policy, amount, channel)
        return "account", self.pop.customers[ci].account_id, times

    # --- complaint spike ------------------------------------------------------------
    def _complainants(self, agent: int, n: int) -> list[int]:
        """``n`` distinct customers of ``agent``, topped up from the agent's branch."""
        pop = self.pop
        own = [c for c in pop.customers_of_agent.get(agent, []) if c not in self.reserved.customers]
        picked = self.rng.sample(own, k=min(n, len(own)))
        if len(picked) < n:
            branch = [c for colleague in pop.agents_of_branch[pop.agents[agent].branch_id]
                      for c in pop.customers_of_agent.get(colleague, [])
                      if c not in self.reserved.customers and c not in picked]
            picked += self.rng.sample(branch, k=min(n - len(picked), len(branch)))
        while len(picked) < n:  # a tiny population: anyone, even twice
            picked.append(self.rng.randrange(len(pop.customers)))
        return picked

    def _complaints(self, agent: int, times: list[int], categories: list[str]) -> None:
        pop, rng = self.pop, self.rng
        for ms, ci, category in zip(times, self._complainants(agent, len(times)), categories):
            own = [pop.policies[i] for i in pop.policies_of_customer.get(ci, []) if pop.policies[i].agent == agent]
            complaint_id = pop.ids.complaint_id()
            feed.complaint_filed(self.log, ms, pop, complaint_id, ci, agent, category,
                                 rng.choice(own) if own else None)
            resolved = self.timeline.next_open(rng, "service", ms + rng.randint(2, 30) * HOUR_MS)
            if rng.random() < 0.3 and resolved < self.timeline.end_ms:
                feed.complaint_resolved(self.log, resolved, pop, complaint_id, ci, agent)
        self.integrity_side_truth(agent, [(ms, "mis_selling_complaint") for ms, category in zip(times, categories)
                                          if category == "mis_selling"])

    def _categories(self, n: int) -> list[str]:
        style = self.rng.choice(SPIKE_CATEGORY_STYLES)
        if style == "mixed":
            return [self.rng.choice(("mis_selling", "service_attitude", "claims_service", "billing"))
                    for _ in range(n)]
        return [style] * n

    def _spike(self, variant: str) -> tuple[str, str, list[int]]:
        rng = self.rng
        agent = self._dedicated_agent()
        n = rng.randint(4, 8)
        if variant == "burst":
            span = self._span(30 * MINUTE_MS, 90 * MINUTE_MS)
        elif variant == "afternoon":
            span = self._span(3 * HOUR_MS, 6 * HOUR_MS)
        else:
            span = self._span(8 * HOUR_MS, 12 * HOUR_MS)
        start = self._start("service", span)
        if variant == "two_waves":  # a first wave, a lull, then a second wave at the end
            first = n // 2
            times = self._times(start, span // 6, first) + self._times(start + span - span // 6, span // 6,
                                                                        n - first)
        else:
            times = self._times(start, span, n)
        self._complaints(agent, times, self._categories(n))
        return "agent", self.pop.agents[agent].agent_id, times

    def _spike_benign_variants(self) -> tuple[str, ...]:
        variants = ("one_complaint", "two_close")
        if self.timeline.duration_ms > 40 * HOUR_MS:
            variants += ("two_pairs_apart",)
        return variants

    def _spike_benign(self, variant: str) -> tuple[str, str, list[int]]:
        agent = self._dedicated_agent()
        if variant == "one_complaint":
            times = [self._start("service", 0)]
        elif variant == "two_close":
            span = self._span(20 * MINUTE_MS, 4 * HOUR_MS)
            times = self._times(self._start("service", span), span, 2)
        else:  # two pairs more than the 24 h window apart
            span = 27 * HOUR_MS + HOUR_MS
            start = self._start("service", span)
            times = [start, start + HOUR_MS, start + 27 * HOUR_MS, start + 28 * HOUR_MS]
        self._complaints(agent, times, self._categories(len(times)))
        return "agent", self.pop.agents[agent].agent_id, times
