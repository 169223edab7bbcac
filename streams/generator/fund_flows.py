"""Unusual fund-flow scenarios (payment stream) and their benign look-alikes.
Registered with :func:`~streams.generator.scenarios.scenario_family`.

Every scenario is shaped to be caught by the detectors as configured by
default (``detectors/``), and every look-alike to be passed by them. Where a
scenario's events also raise another typology's alert (a fan-out pays for
other people's policies, so each policy has a third-party payer), a side truth
(:meth:`ScenarioBuilder.side_truth`) labels that alert too. Scenario people
are dedicated customers (no background activity); accounts of strangers are
fresh ids in the population's account format that belong to no customer.

* ``third_party_payer``: a premium on a dedicated customer's policy from a
  relative's account (low), from a stranger in cash (medium), a transfer of
  20,000 CNY or more (medium), or after the customer's own payments.
  Look-alikes: premiums from the policyholder's own account; a parent paying
  the family's policies, all held by the parent.
* ``multiple_payers``: three to six accounts pay one policy within hours
  (relatives, strangers in cash, or mixed with the policyholder's own).
  Look-alikes: two payers (a third-party-payer side truth), or the
  policyholder's own account several times.
* ``rapid_in_out``: a single premium of 60,000 CNY or more on a new policy
  cancelled in the cooling-off period and refunded to the paying account
  (medium); a large top-up on an investment policy surrendered hours later to
  a new account (critical); and the combined case: a customer structures cash
  top-ups just under 50,000 CNY from three to five third-party accounts, then
  surrenders to a new account (truth per typology: ``rapid_in_out``,
  ``structuring`` on the customer, ``third_party_payer`` and
  ``multiple_payers`` on the policy, linked by the customer and policy ids in
  their evidence). Look-alikes: a small premium cancelled, a large premium
  kept, a partial surrender of under half.
* ``fan_out``: one account pays premiums for four to ten dedicated
  policyholders within hours. Look-alikes: an account paying for three
  relatives (third-party side truths), a customer paying four policies of
  their own.
* ``fan_in``: one account receives surrender payouts, refunds or claim
  payouts of four to nine other people's policies (claims to it are also
  ``claim_payee_mismatch``). Look-alikes: three payouts, or four claims paid
  to the policyholder's own account.
* ``amount_anomaly``: a customer with five to seven steady premiums pays
  30 to 150 times their median (medium), a round amount in a burst of
  premiums (critical); a new customer pays a premium of 11 to 13 robust z
  above 36 ordinary renewals of a quietly sold savings-type product in the
  hours before (entity: the product). Look-alikes:
  a steady large payer, a large first premium normal for its product, a
  monthly payer paying a year at once.
* ``claim_payee_mismatch``: a claim paid to a stranger's account (high from
  50,000 CNY), or one of two claims. Look-alikes: a claim paid to a named
  beneficiary, or to the policyholder.
* ``early_claim``: a policy issued in the run with a claim paid hours later
  (sometimes to a stranger: a mismatch too). Look-alikes: a new policy and a
  claim on the customer's older one; a new policy cancelled and refunded.
* ``round_tripping``: two customers' policies surrender to each other's
  accounts; two premiums paid for each other's policies come back through
  their refunds; a ring of three customers. Look-alikes: a one-way
  surrender to another account, a chain of three that does not return.
"""
from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from random import Random

from detectors.amount_anomaly import ProductAmountAnomalyConfig
from detectors.scorers import RobustZScorer
from streams.generator import feed
from streams.generator.background import MINUTE_MS
from streams.generator.population import Policy, Population
from streams.generator.scenarios import ScenarioBuilder, ScenarioFunction, scenario_family
from streams.generator.timeline import HOUR_MS

Result = tuple[str, str, list[int]]
#: Categories paid annually (no monthly instalments): a product's premiums cluster tightly.
ANNUAL_CATEGORIES = ("investment_linked", "long_term_savings", "annuity")
#: The rapid-in-out and amount rules' floor (CNY), with a margin.
LARGE_CNY = 60_000.0
#: Robust z of a product outlier above the premiums written before it (the detector fires at 8).
PRODUCT_OUTLIER_Z = (11.0, 13.0)
#: The product detector's own robust location and scale.
PRODUCT_SCALE = RobustZScorer(min_scale=ProductAmountAnomalyConfig().min_scale)
#: Ordinary premiums of the product written before its outlier (the detector needs 30).
PRODUCT_HISTORY = 36
#: Largest robust z above its product's book that an ordinary scenario premium may have.
PRODUCT_ORDINARY_Z = 4.0
#: Cash amounts just under the 50,000 CNY reporting threshold.
CASH_BAND = (40_000.0, 49_999.99)


@dataclass
class _Context:
    """What the fund-flow scenarios of one builder share: accounts handed out, product statistics."""

    taken: set[str] = field(default_factory=set)
    product_stats: dict[int, tuple[float, float]] = field(default_factory=dict)


_CONTEXTS: "weakref.WeakKeyDictionary[ScenarioBuilder, _Context]" = weakref.WeakKeyDictionary()


class FundFlowScenarios:
    """Builds the scenarios of this module into a :class:`ScenarioBuilder`."""

    def __init__(self, builder: ScenarioBuilder) -> None:
        self.b = builder
        self.pop: Population = builder.pop
        self.rng: Random = builder.rng
        if builder not in _CONTEXTS:
            _CONTEXTS[builder] = _Context(taken={c.account_id for c in builder.pop.customers})
        self.ctx = _CONTEXTS[builder]

    # --- people, accounts, policies -------------------------------------------------
    def _customer(self) -> int:
        return self.b._dedicated_customer()

    def _account(self, ci: int) -> str:
        return self.pop.customers[ci].account_id

    def _stranger(self) -> str:
        """A bank account that belongs to no customer and to no other scenario."""
        while True:
            account = f"AC{self.rng.randrange(1_000_000_000, 10_000_000_000)}"
            if account not in self.ctx.taken:
                self.ctx.taken.add(account)
                return account

    def _relative(self) -> str:
        """The account of a relative: a dedicated customer of its own (so it pays nothing else)."""
        return self._account(self._customer())

    def _book(self, ci: int, categories: tuple[str, ...] = (), product: int | None = None) -> Policy:
        """A policy the customer has held for a while."""
        return self.pop.new_policy(self.rng, ci, issued_days_ago=self.rng.randint(60, 5 * 365),
                                   categories=categories, product_index=product)

    def _new(self, ci: int, product: int | None = None, premium: float | None = None) -> Policy:
        """A policy issued in the run (``issued_days_ago`` 0)."""
        return self.pop.new_policy(self.rng, ci, product_index=product, premium=premium)

    def _issue(self, ms: int, policy: Policy) -> None:
        """The policy issued at ``ms``, and its new-policy callback made an hour to a day
        later (in office hours), as every new policy gets within 72 hours."""
        tl, rng = self.b.timeline, self.rng
        feed.policy_issued(self.b.log, ms, self.pop, policy)
        called = tl.next_open(rng, "service", self._later(ms, HOUR_MS, 24 * HOUR_MS))
        if called < tl.end_ms:
            feed.callback(self.b.log, called, self.pop, policy)

    def _new_health(self, ci: int) -> Policy:
        """A health (or, where that is not suitable, protection) policy issued in the run."""
        return self.pop.new_policy(self.rng, ci, categories=("health", "protection"))

    def _product_stats(self, product: int) -> tuple[float, float]:
        """Median and robust scale (as the product detector reckons them) of the log
        premiums of the product's book: what its premiums in a run look like."""
        if product not in self.ctx.product_stats:
            logs = [math.log(feed.instalment(p)) for p in self.pop.policies if p.product == product] or [0.0]
            self.ctx.product_stats[product] = PRODUCT_SCALE.location_scale(logs)
        return self.ctx.product_stats[product]

    def _annual_products(self, busy: bool) -> list[int]:
        """The half of the annually paid products with the most policies in the book
        (``busy``), or the other half. Large ordinary premiums of the scenarios go into
        the busy ones, product outliers into the others, so that neither disturbs the
        product history the other relies on."""
        book: dict[int, int] = {}
        for p in self.pop.policies:
            book[p.product] = book.get(p.product, 0) + 1
        annual = [i for i, p in enumerate(self.pop.products) if p.category in ANNUAL_CATEGORIES]
        ranked = sorted(annual, key=lambda i: (-book.get(i, 0), i))
        half = max(1, len(ranked) // 2)
        if busy:
            return ranked[:half]
        return [i for i in ranked[half:] if book.get(i, 0) >= 2 * PRODUCT_HISTORY] or ranked[:half]

    def _ordinary_product(self, amount: float) -> int:
        """A busy annually paid product for which ``amount`` is an ordinary premium
        (within ``PRODUCT_ORDINARY_Z`` of its book), the least unusual if none is."""
        z = {i: (math.log(amount) - self._product_stats(i)[0]) / self._product_stats(i)[1]
             for i in self._annual_products(busy=True)}
        fitting = sorted(i for i, score in z.items() if score <= PRODUCT_ORDINARY_Z)
        return self.rng.choice(fitting) if fitting else min(z, key=lambda i: (z[i], i))

    # --- times ----------------------------------------------------------------------
    def _window(self, span_ms: int, profile: str = "payments") -> int:
        return self.b._start(profile, span_ms)

    def _spread(self, start: int, span_ms: int, n: int) -> list[int]:
        return self.b._times(start, span_ms, n)

    def _later(self, ms: int, low_ms: int, high_ms: int) -> int:
        return ms + low_ms + int(self.rng.random() * (high_ms - low_ms))

    def _channel(self) -> str:
        return self.rng.choice(("bank_transfer", "mobile"))

    def _cash_amounts(self, n: int) -> list[float]:
        return [round(self.rng.uniform(*CASH_BAND), 2) for _ in range(n)]

    # --- third-party payer ----------------------------------------------------------
    def third_party_payer(self, variant: str) -> Result:
        rng, pop, log = self.rng, self.pop, self.b.log
        ci = self._customer()
        policy = self._book(ci)
        span = self.b._span(HOUR_MS, 12 * HOUR_MS)
        start = self._window(span)
        times = self._spread(start, span, 3)
        third: list[int] = []
        if variant == "relative_transfer":
            payer = self._relative()
            for ms in times[:rng.randint(1, 2)]:
                feed.premium_paid(log, ms, pop, policy, feed.instalment(policy), self._channel(), payer)
                third.append(ms)
        elif variant == "cash_from_stranger":
            feed.premium_paid(log, times[0], pop, policy, round(rng.uniform(800, 9_000), 2), "cash", self._stranger())
            third.append(times[0])
        elif variant == "large_transfer":
            feed.premium_paid(log, times[0], pop, policy, round(rng.uniform(20_000, 45_000), 2), "bank_transfer",
                              self._stranger())
            third.append(times[0])
        else:  # after_own_payments
            for ms in times[:2]:
                feed.premium_paid(log, ms, pop, policy, feed.instalment(policy), self._channel())
            feed.premium_paid(log, times[2], pop, policy, feed.instalment(policy), self._channel(), self._relative())
            third.append(times[2])
        return "policy", policy.policy_id, third

    def third_party_payer_benign(self, variant: str) -> Result:
        pop, log = self.pop, self.b.log
        ci = self._customer()
        policies = [self._book(ci) for _ in range(1 if variant == "own_account" else self.rng.randint(2, 3))]
        span = self.b._span(HOUR_MS, 10 * HOUR_MS)
        times = self._spread(self._window(span), span, 3)
        for k, ms in enumerate(times):
            policy = policies[k % len(policies)]
            feed.premium_paid(log, ms, pop, policy, feed.instalment(policy), self._channel())
        return "policy", policies[0].policy_id, times

    # --- multiple payers ------------------------------------------------------------
    def multiple_payers(self, variant: str) -> Result:
        rng, pop, log = self.rng, self.pop, self.b.log
        ci = self._customer()
        policy = self._book(ci)
        if variant == "relatives":
            payers = [None, self._relative(), self._relative()]
        elif variant == "strangers_cash":
            payers = [self._stranger() for _ in range(rng.randint(4, 6))]
        else:  # mixed
            payers = [None] + [self._stranger() for _ in range(rng.randint(2, 4))]
        rng.shuffle(payers)
        span = self.b._span(HOUR_MS, 20 * HOUR_MS)
        times = self._spread(self._window(span), span, len(payers))
        third = []
        for ms, payer in zip(times, payers):
            cash = variant == "strangers_cash"
            amount = round(rng.uniform(500, 6_000), 2) if cash else feed.instalment(policy)
            feed.premium_paid(log, ms, pop, policy, amount, "cash" if cash else self._channel(), payer)
            if payer is not None:
                third.append(ms)
        self.b.side_truth("third_party_payer", "policy", policy.policy_id, third)
        return "policy", policy.policy_id, times

    def multiple_payers_benign(self, variant: str) -> Result:
        pop, log = self.pop, self.b.log
        ci = self._customer()
        policy = self._book(ci)
        span = self.b._span(HOUR_MS, 12 * HOUR_MS)
        if variant == "two_payers":
            times = self._spread(self._window(span), span, 2)
            feed.premium_paid(log, times[0], pop, policy, feed.instalment(policy), self._channel())
            feed.premium_paid(log, times[1], pop, policy, feed.instalment(policy), self._channel(), self._relative())
            self.b.side_truth("third_party_payer", "policy", policy.policy_id, [times[1]])
        else:  # own_repeated
            times = self._spread(self._window(span), span, self.rng.randint(3, 4))
            for ms in times:
                feed.premium_paid(log, ms, pop, policy, feed.instalment(policy), self._channel())
        return "policy", policy.policy_id, times

    # --- rapid in and out -----------------------------------------------------------
    def rapid_in_out(self, variant: str) -> Result:
        if variant == "structured_third_party":
            return self._structured_third_party()
        rng, pop, log = self.rng, self.pop, self.b.log
        ci = self._customer()
        amount = round(rng.uniform(LARGE_CNY, 250_000.0), 2)
        span = self.b._span(2 * HOUR_MS, 10 * HOUR_MS)
        start = self._window(span + HOUR_MS, "service")
        if variant == "cooling_off_same_account":
            policy = self._new(ci, self._ordinary_product(amount), amount)
            self._issue(start, policy)
            paid = self._later(start, 5 * MINUTE_MS, 30 * MINUTE_MS)
            feed.premium_paid(log, paid, pop, policy, amount, "bank_transfer")
            cancelled = self._later(paid, span // 2, span)
            feed.policy_ended(log, cancelled, pop, policy, "cooling_off_cancelled", amount, 0)
            out = self._later(cancelled, 10 * MINUTE_MS, 50 * MINUTE_MS)
            feed.payout(log, out, pop, policy, "refund", amount)
        else:  # early_surrender_new_account: a large top-up, surrendered to an account never seen
            policy = self._book(ci, product=self._ordinary_product(amount))
            paid = start
            feed.premium_paid(log, paid, pop, policy, amount, "bank_transfer")
            value = round(amount * rng.uniform(0.85, 0.97), 2)
            ended = self._later(paid, span // 2, span)
            feed.policy_ended(log, ended, pop, policy, "surrendered", value, policy.issued_days_ago)
            out = self._later(ended, 10 * MINUTE_MS, 50 * MINUTE_MS)
            feed.payout(log, out, pop, policy, "surrender_payout", value, self._stranger())
        return "policy", policy.policy_id, [paid, out]

    def _structured_third_party(self) -> Result:
        """The combined case: structuring from third-party accounts, then a surrender to a new account."""
        rng, pop, log = self.rng, self.pop, self.b.log
        ci = self._customer()
        n = rng.randint(3, 5)
        amounts = self._cash_amounts(n)
        policy = self._book(ci, product=self._ordinary_product(max(amounts)))
        # Up to 60 h of payments (the window is 72 h), and up to 3 h more to the payout, in the run.
        span = min(self.b._span(4 * HOUR_MS, 60 * HOUR_MS), int(0.9 * self.b.timeline.duration_ms) - 3 * HOUR_MS)
        start = self._window(span + 3 * HOUR_MS)
        times = self._spread(start, span, n)
        for ms, amount in zip(times, amounts):
            feed.premium_paid(log, ms, pop, policy, amount, "cash", self._stranger())
        value = round(sum(amounts) * rng.uniform(0.85, 0.97), 2)
        ended = self._later(times[-1], 20 * MINUTE_MS, 2 * HOUR_MS)
        feed.policy_ended(log, ended, pop, policy, "surrendered", value, policy.issued_days_ago)
        out = self._later(ended, 5 * MINUTE_MS, 50 * MINUTE_MS)
        feed.payout(log, out, pop, policy, "surrender_payout", value, self._stranger())
        customer_id = pop.customers[ci].customer_id
        self.b.side_truth("structuring", "customer", customer_id, times)
        self.b.side_truth("third_party_payer", "policy", policy.policy_id, times)
        self.b.side_truth("multiple_payers", "policy", policy.policy_id, times)
        return "policy", policy.policy_id, times + [out]

    def rapid_in_out_benign(self, variant: str) -> Result:
        rng, pop, log = self.rng, self.pop, self.b.log
        ci = self._customer()
        span = self.b._span(2 * HOUR_MS, 10 * HOUR_MS)
        start = self._window(span + HOUR_MS, "service")
        if variant == "small_premium_cancelled":
            amount = round(rng.uniform(3_000, 30_000), 2)
            policy = self._new(ci, self._ordinary_product(amount), amount)
            self._issue(start, policy)
            feed.premium_paid(log, start + 10 * MINUTE_MS, pop, policy, amount, "bank_transfer")
            cancelled = self._later(start, span // 2, span)
            feed.policy_ended(log, cancelled, pop, policy, "cooling_off_cancelled", amount, 0)
            feed.payout(log, cancelled + 20 * MINUTE_MS, pop, policy, "refund", amount)
            return "policy", policy.policy_id, [start, cancelled + 20 * MINUTE_MS]
        amount = round(rng.uniform(LARGE_CNY, 250_000.0), 2)
        policy = self._book(ci, product=self._ordinary_product(amount))
        feed.premium_paid(log, start, pop, policy, amount, "bank_transfer")
        if variant == "large_premium_kept":
            return "policy", policy.policy_id, [start]
        # partial_surrender: a withdrawal of under half the premium, to the policyholder
        out = self._later(start, span // 2, span)
        feed.payout(log, out, pop, policy, "surrender_payout", round(amount * rng.uniform(0.1, 0.4), 2))
        return "policy", policy.policy_id, [start, out]

    # --- fan-out and fan-in ---------------------------------------------------------
    def _pay_for_others(self, payer: str, count: int) -> list[int]:
        """``payer`` pays one premium on a policy of each of ``count`` dedicated customers."""
        span = self.b._span(2 * HOUR_MS, 12 * HOUR_MS)
        times = self._spread(self._window(span), span, count)
        for ms in times:
            policy = self._book(self._customer())
            feed.premium_paid(self.b.log, ms, self.pop, policy, feed.instalment(policy), self._channel(), payer)
            self.b.side_truth("third_party_payer", "policy", policy.policy_id, [ms])
        return times

    def fan_out(self, variant: str) -> Result:
        count = {"agent_pays_customers": (4, 6), "many_policyholders": (8, 10)}.get(variant, (4, 5))
        payer = self._relative() if variant == "customer_pays_strangers" else self._stranger()
        return "account", payer, self._pay_for_others(payer, self.rng.randint(*count))

    def fan_out_benign(self, variant: str) -> Result:
        if variant == "family_of_three":
            payer = self._relative()
            return "account", payer, self._pay_for_others(payer, 3)
        ci = self._customer()  # own_policies: four policies of one's own
        policies = [self._book(ci) for _ in range(4)]
        span = self.b._span(HOUR_MS, 8 * HOUR_MS)
        times = self._spread(self._window(span), span, 4)
        for ms, policy in zip(times, policies):
            feed.premium_paid(self.b.log, ms, self.pop, policy, feed.instalment(policy), self._channel())
        return "account", self._account(ci), times

    def _payouts_to(self, payee: str | None, count: int, kinds: Sequence[str], ci: int | None = None) -> list[int]:
        """``count`` payouts of the kinds given, each of a policy of its own dedicated customer
        (or all of ``ci``'s), to ``payee`` (None: to the policyholder's own account)."""
        rng, pop, log = self.rng, self.pop, self.b.log
        span = self.b._span(2 * HOUR_MS, 12 * HOUR_MS)
        # An hour in hand before the first payout, for the surrender it pays out.
        times = self._spread(self._window(span + HOUR_MS, "service") + HOUR_MS, span, count)
        out = []
        for k, ms in enumerate(times):
            kind = kinds[k % len(kinds)]
            owner = self._customer() if ci is None else ci
            if kind == "claim_payout":
                policy = self._book(owner, categories=("health", "protection"))
                amount = round(rng.uniform(2_000, 20_000), 2)
                if payee is not None:
                    self.b.side_truth("claim_payee_mismatch", "policy", policy.policy_id, [ms])
            else:
                policy = self._book(owner)
                amount = round(max(500.0, policy.premium * rng.uniform(0.5, 3.0)), 2)
                feed.policy_ended(log, ms - 30 * MINUTE_MS, pop, policy, "surrendered", amount,
                                  policy.issued_days_ago)
            feed.payout(log, ms, pop, policy, kind, amount, payee)
            out.append(ms)
        return out

    def fan_in(self, variant: str) -> Result:
        collector = self._stranger()
        if variant == "surrender_collector":
            times = self._payouts_to(collector, self.rng.randint(4, 6), ("surrender_payout",))
        elif variant == "claims_collector":
            times = self._payouts_to(collector, self.rng.randint(4, 5), ("claim_payout",))
        else:  # mixed_payouts, enough for high
            times = self._payouts_to(collector, self.rng.randint(8, 9), ("surrender_payout", "claim_payout"))
        return "account", collector, times

    def fan_in_benign(self, variant: str) -> Result:
        if variant == "three_payouts":
            collector = self._stranger()
            return "account", collector, self._payouts_to(collector, 3, ("surrender_payout",))
        ci = self._customer()  # own_claims: four claims on one's own policies, paid to oneself
        return "account", self._account(ci), self._payouts_to(None, 4, ("claim_payout",), ci)

    # --- amount anomaly -------------------------------------------------------------
    def _history(self, ci: int, count: int, base: float, end_ms: int, gap_ms: int) -> list[int]:
        """``count`` steady premiums (``base`` +-15%) on the customer's policies, ``gap_ms`` or more apart,
        the last ``gap_ms`` before ``end_ms``."""
        policies = [self._book(ci, categories=("health", "protection")) for _ in range(2)]
        times = [end_ms - (count - k) * gap_ms - int(self.rng.random() * gap_ms / 4) for k in range(count)]
        for k, ms in enumerate(times):
            feed.premium_paid(self.b.log, ms, self.pop, policies[k % 2], round(base * self.rng.uniform(0.85, 1.15), 2),
                              self._channel())
        return times

    def amount_anomaly(self, variant: str) -> Result:
        rng, pop, log = self.rng, self.pop, self.b.log
        ci = self._customer()
        if variant == "product_outlier":
            product = rng.choice(self._annual_products(busy=False))
            # The product's ordinary premiums in the hours before (renewals of its book): most of
            # the history the detector will hold, however little else the run pays into a quiet product.
            reserved = self.b.reserved
            book = [p for p in pop.policies if p.product == product and p.issued_days_ago > 0
                    and p.customer not in reserved.customers and p.customer not in reserved.buyers]
            renewals = rng.sample(book, min(len(book), PRODUCT_HISTORY))
            median, scale = PRODUCT_SCALE.location_scale([math.log(feed.instalment(p)) for p in renewals])
            amount = math.exp(median + rng.uniform(*PRODUCT_OUTLIER_Z) * scale)
            amount = round(amount, -4) if rng.random() < 0.5 else round(amount, 2)
            policy = self._new(ci, product, amount)
            span = self.b._span(2 * HOUR_MS, 12 * HOUR_MS)
            ms = self._window(span) + span
            for earlier, renewed in zip(sorted(rng.sample(range(ms - span, ms), len(renewals))), renewals):
                feed.premium_paid(log, earlier, pop, renewed, feed.instalment(renewed), "bank_transfer")
            feed.premium_paid(log, ms, pop, policy, amount, "bank_transfer")
            return "product", pop.products[product].product_id, [ms]
        base = rng.uniform(300, 1_500)
        count = rng.randint(5, 7)
        # Premiums 1.5 to 3 h apart (never three within the 2 h of a burst), all in the run.
        gap = max(3 * HOUR_MS // 2, min(3 * HOUR_MS, int(0.9 * self.b.timeline.duration_ms) // (count + 1)))
        at = self._window((count + 1) * gap) + (count + 1) * gap
        history = self._history(ci, count, base, at, gap)
        ratio = rng.uniform(50, 150)
        amount = round(max(LARGE_CNY, base * ratio), 2)
        if variant == "round_in_a_burst":
            amount = float(math.ceil(amount / 10_000) * 10_000)
            extra = self._book(ci, categories=("health", "protection"))
            for k in (1, 2):
                feed.premium_paid(log, at - k * 20 * MINUTE_MS, pop, extra, round(base * rng.uniform(0.85, 1.15), 2),
                                  self._channel())
        elif amount % 10_000 == 0:
            amount += 0.5
        policy = self._book(ci, product=self._ordinary_product(amount))
        feed.premium_paid(log, at, pop, policy, amount, "bank_transfer")
        return "customer", pop.customers[ci].customer_id, history[-1:] + [at]

    def amount_anomaly_benign(self, variant: str) -> Result:
        rng, pop, log = self.rng, self.pop, self.b.log
        ci = self._customer()
        gap = 3 * HOUR_MS
        at = self._window(7 * gap) + 7 * gap
        if variant == "steady_large_payer":
            base = rng.uniform(LARGE_CNY, 120_000)
            policy = self._book(ci, product=self._ordinary_product(base * 1.5))
            times = [at - k * gap for k in range(6, 0, -1)] + [at]
            for ms in times:
                feed.premium_paid(log, ms, pop, policy, round(base * rng.uniform(0.9, 1.5), 2), "bank_transfer")
            return "customer", pop.customers[ci].customer_id, times
        if variant == "large_first_premium":
            amount = round(rng.uniform(LARGE_CNY, 200_000), 2)
            policy = self._new(ci, self._ordinary_product(amount), amount)
            feed.premium_paid(log, at, pop, policy, amount, "bank_transfer")
            return "customer", pop.customers[ci].customer_id, [at]
        # monthly_to_annual: steady monthly instalments, then a year paid at once (twelve times as much)
        base = rng.uniform(300, 3_000)
        history = self._history(ci, 6, base, at, gap)
        policy = self._book(ci, categories=("health", "protection"))
        feed.premium_paid(log, at, pop, policy, round(base * 12, 2), "bank_transfer")
        return "customer", pop.customers[ci].customer_id, history + [at]

    # --- claims ---------------------------------------------------------------------
    def claim_payee_mismatch(self, variant: str) -> Result:
        rng, pop, log = self.rng, self.pop, self.b.log
        ci = self._customer()
        policy = self._book(ci, categories=("health", "protection"))
        span = self.b._span(HOUR_MS, 8 * HOUR_MS)
        times = self._spread(self._window(span, "service"), span, 2)
        if variant == "large_claim_to_stranger":
            amount = round(rng.uniform(50_000, 300_000), 2)
        else:
            amount = round(rng.uniform(1_500, 30_000), 2)
        if variant == "one_of_two_claims":
            feed.payout(log, times[0], pop, policy, "claim_payout", round(rng.uniform(1_000, 8_000), 2))
            times = times[1:]
        feed.payout(log, times[0], pop, policy, "claim_payout", amount, self._stranger())
        return "policy", policy.policy_id, times

    def claim_payee_mismatch_benign(self, variant: str) -> Result:
        ci = self._customer()
        policy = self._book(ci, categories=("protection",))
        ms = self._window(0, "service")
        beneficiaries = feed.beneficiary_accounts(self.pop, policy)
        payee = beneficiaries[0] if variant == "claim_to_beneficiary" and beneficiaries else None
        feed.payout(self.b.log, ms, self.pop, policy, "claim_payout", round(self.rng.uniform(5_000, 80_000), 2), payee)
        return "policy", policy.policy_id, [ms]

    def _new_health_policy_paid(self) -> tuple[int, Policy, int, int]:
        """A dedicated customer's new health policy, issued and its first premium paid:
        (customer, policy, issue time in ms, the span in ms the scenario has after the issue)."""
        ci = self._customer()
        policy = self._new_health(ci)
        span = self.b._span(2 * HOUR_MS, 10 * HOUR_MS)
        issued = self._window(span, "service")
        self._issue(issued, policy)
        feed.premium_paid(self.b.log, self._later(issued, 5 * MINUTE_MS, 40 * MINUTE_MS), self.pop, policy,
                          feed.instalment(policy), self._channel())
        return ci, policy, issued, span

    def early_claim(self, variant: str) -> Result:
        rng, pop, log = self.rng, self.pop, self.b.log
        _, policy, issued, span = self._new_health_policy_paid()
        claimed = self._later(issued, span // 2, span)
        amount = round(rng.uniform(2_000, 40_000), 2)
        if variant == "early_claim_to_stranger":
            feed.payout(log, claimed, pop, policy, "claim_payout", amount, self._stranger())
            self.b.side_truth("claim_payee_mismatch", "policy", policy.policy_id, [claimed])
        else:  # same_day_claim, or paid to a named beneficiary
            beneficiaries = feed.beneficiary_accounts(pop, policy)
            payee = beneficiaries[-1] if variant == "claim_to_beneficiary" and beneficiaries else None
            feed.payout(log, claimed, pop, policy, "claim_payout", amount, payee)
        return "policy", policy.policy_id, [claimed]

    def early_claim_benign(self, variant: str) -> Result:
        rng, pop, log = self.rng, self.pop, self.b.log
        ci, policy, issued, span = self._new_health_policy_paid()
        amount = feed.instalment(policy)
        later = self._later(issued, span // 2, span)
        if variant == "claim_on_older_policy":
            old = self._book(ci, categories=("health", "protection"))
            feed.payout(log, later, pop, old, "claim_payout", round(rng.uniform(1_000, 20_000), 2))
        else:  # cancelled_and_refunded
            feed.policy_ended(log, later, pop, policy, "cooling_off_cancelled", amount, 0)
            feed.payout(log, later + 30 * MINUTE_MS, pop, policy, "refund", amount)
        return "policy", policy.policy_id, [later]

    # --- round-tripping -------------------------------------------------------------
    def _surrender_to(self, ms: int, policy: Policy, payee: str, amount: float) -> None:
        feed.policy_ended(self.b.log, ms - 30 * MINUTE_MS, self.pop, policy, "surrendered", amount,
                          policy.issued_days_ago)
        feed.payout(self.b.log, ms, self.pop, policy, "surrender_payout", amount, payee)

    def round_tripping(self, variant: str) -> Result:
        rng, pop, log = self.rng, self.pop, self.b.log
        ring = [self._customer() for _ in range(3 if variant == "ring_of_three" else 2)]
        accounts = [self._account(ci) for ci in ring]
        span = self.b._span(3 * HOUR_MS, 16 * HOUR_MS)
        start = self._window(span + HOUR_MS, "service") + HOUR_MS
        amount = round(rng.uniform(20_000, 45_000), 2)
        if variant == "premiums_paid_for_each_other":
            # a tops up b's policy, which b surrenders; b tops up a's, which a surrenders.
            times = self._spread(start, span, 4)
            for k, (payer, owner) in enumerate(((0, 1), (1, 0))):
                policy = self._book(ring[owner])
                feed.premium_paid(log, times[2 * k], pop, policy, amount, "bank_transfer", accounts[payer])
                self.b.side_truth("third_party_payer", "policy", policy.policy_id, [times[2 * k]])
                value = round(amount * rng.uniform(0.95, 1.0), 2)
                feed.policy_ended(log, times[2 * k + 1] - 20 * MINUTE_MS, pop, policy, "surrendered", value,
                                  policy.issued_days_ago)
                feed.payout(log, times[2 * k + 1], pop, policy, "surrender_payout", value)
            return "account", accounts[0], times
        # surrenders_to_each_other, ring_of_three: each one's policy surrenders to the next one's account
        times = self._spread(start, span, len(ring))
        for k, ms in enumerate(times):
            policy = self._book(ring[k])
            self._surrender_to(ms, policy, accounts[(k + 1) % len(ring)], round(amount * rng.uniform(0.9, 1.1), 2))
        return "account", accounts[0], times

    def round_tripping_benign(self, variant: str) -> Result:
        ring = [self._customer() for _ in range(2 if variant == "one_way_surrender" else 3)]
        accounts = [self._account(ci) for ci in ring]
        span = self.b._span(2 * HOUR_MS, 12 * HOUR_MS)
        times = self._spread(self._window(span + HOUR_MS, "service") + HOUR_MS, span, len(ring) - 1)
        for k, ms in enumerate(times):  # a -> b (-> c), and nothing comes back
            self._surrender_to(ms, self._book(ring[k]), accounts[k + 1], round(self.rng.uniform(20_000, 45_000), 2))
        return "account", accounts[0], times


def _family(method: Callable[[FundFlowScenarios], Callable[[str], Result]], variants: Sequence[str]):
    def factory(builder: ScenarioBuilder) -> tuple[ScenarioFunction, Sequence[str]]:
        return method(FundFlowScenarios(builder)), variants
    return factory


FAMILIES = {
    "third_party_payer": (("relative_transfer", "cash_from_stranger", "large_transfer", "after_own_payments"),
                          ("own_account", "parent_pays_family_policies")),
    "multiple_payers": (("relatives", "strangers_cash", "mixed"), ("two_payers", "own_repeated")),
    # Exactly three variants: with the default three scenarios, the combined case is in every run.
    "rapid_in_out": (("cooling_off_same_account", "early_surrender_new_account", "structured_third_party"),
                     ("small_premium_cancelled", "large_premium_kept", "partial_surrender")),
    "fan_out": (("agent_pays_customers", "many_policyholders", "customer_pays_strangers"),
                ("family_of_three", "own_policies")),
    "fan_in": (("surrender_collector", "claims_collector", "mixed_payouts"), ("three_payouts", "own_claims")),
    "amount_anomaly": (("step_up", "round_in_a_burst", "product_outlier"),
                       ("steady_large_payer", "large_first_premium", "monthly_to_annual")),
    "claim_payee_mismatch": (("claim_to_stranger", "large_claim_to_stranger", "one_of_two_claims"),
                             ("claim_to_beneficiary", "claim_to_policyholder")),
    "early_claim": (("same_day_claim", "claim_to_beneficiary", "early_claim_to_stranger"),
                    ("claim_on_older_policy", "cancelled_and_refunded")),
    "round_tripping": (("surrenders_to_each_other", "premiums_paid_for_each_other", "ring_of_three"),
                       ("one_way_surrender", "chain_of_three")),
}

for _typology, (_variants, _benign) in FAMILIES.items():
    scenario_family(_typology, False)(_family(lambda s, t=_typology: getattr(s, t), _variants))
    scenario_family(_typology, True)(_family(lambda s, t=_typology: getattr(s, f"{t}_benign"), _benign))
