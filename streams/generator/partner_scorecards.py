"""Partner scorecard outliers (``detectors/partner_peers.py``) and their look-alikes.

A partner's scorecard is judged on 30 days of its business and at least 30
policies, tasks or units of 10,000 CNY; a generated day holds a few. So each
scenario is one partner's business in the lead-in, the fortnight before the
run (no further back than ``service.LEAD_IN_MAX_DAYS``), where the background
has none, and the partner is set aside (``Reserved.partners``): the
background does no business through it in the run and other scenarios leave
it and its agents alone. Its scorecard holds the scenario's business and
nothing else, whatever the seed. The partner is one in no other partner
scenario with no scenario event its metric reads; for complaints and
cancellations, in a branch with no agent peer comparison of that rate if
possible (they would raise the peer rate there).

* ``partner_outlier_complaints``: 30 to 34 policies sold through the
  partner's agents, and as many complaints about them (not of the mis-selling
  category, resolved within two days) as the peer test needs to reach p < 1e-5
  against a peer rate half again above the prior (``mis_selling.events_needed``,
  the agent scenarios' rule), plus up to two;
* ``partner_outlier_cooling_off``: the same with cancellations in the
  cooling-off period (health and protection policies, the first premium
  refunded);
* ``partner_outlier_processing_time``: the same with policies issued 49 to 72
  hours after the sale (the contract's target is 48 hours);
* ``partner_outlier_loss_ratio``: 30 to 34 units of premium (savings and
  annuity premiums, by transfer) and health claims paid on policies held for
  years, nearly all claims: the test runs on the claims' share of the money,
  and a share twice the prior's with that margin is about 0.9 (a loss ratio
  near 9).

The scenarios of a typology take turns between 14 and 4 days before the run,
each flagged before the next one's events begin, so that none is an unflagged
peer of another. Shapes: the events fall on as many of the partner's agents as
there are (``across_agents``) or on two each (``pairs``); the loss ratio's
claims are many (2 to 3.5 units each) or large (3.5 to 5). No agent draws more
than two complaints or cancellations (the agent tests need three, a complaint
spike three in a day), and the events are spread evenly over office hours (a
partner or branch spike needs twelve in a day).

Look-alikes, with their events in the last three and a half days before the run
(after every turn: a look-alike's high rate would weigh on a scenario's
peers): ``ordinary_rate``, 30 to 34 policies (units) with one or two events,
judged and passed; ``small_scorecard``, as many events as 30 policies need, on
18 to 24: a high rate on fewer policies than the scorecard is judged on.
"""
from __future__ import annotations

import math

from detectors.partner_peers import (
    PartnerComplaintOutlier,
    PartnerCoolingOffOutlier,
    PartnerLossRatioOutlier,
    PartnerPeerConfig,
    PartnerPeerDetector,
    PartnerProcessingTimeOutlier,
)
from streams.generator import feed
from streams.generator.mis_selling import events_needed
from streams.generator.population import Policy
from streams.generator.service import OTHER_CATEGORIES, Result, ServiceScenarios, register_families
from streams.generator.timeline import DAY_MS, HOUR_MS

MINUTE_MS = 60_000
PEERS = PartnerPeerConfig()
#: metric -> the detector judging it (its typology, prior rate and the event types it reads)
METRICS: dict[str, type[PartnerPeerDetector]] = {
    "complaints": PartnerComplaintOutlier,
    "cooling_off": PartnerCoolingOffOutlier,
    "processing_time": PartnerProcessingTimeOutlier,
    "loss_ratio": PartnerLossRatioOutlier,
}
#: How the events fall on the partner's agents (loss ratio: on claims): one each where there are
#: agents enough, or two each.
SHAPES = ("across_agents", "pairs")
#: metric -> the agent peer comparison whose rate the partner's events (on its agents) raise too.
AGENT_RATES = {"complaints": "agent_outlier_complaints", "cooling_off": "agent_outlier_cooling_off"}
LOSS_SHAPES = ("many_claims", "large_claims")
LOOK_ALIKES = ("ordinary_rate", "small_scorecard")
#: How long before the run the scenarios' business begins (``service.LEAD_IN_MAX_DAYS`` at most).
LEAD_IN_MS = 378 * HOUR_MS
#: How long before the run the scenarios' turns begin and end.
TURNS_MS = (14 * DAY_MS, 4 * DAY_MS)
#: How long before the run the look-alikes' sales, and then their events, begin.
LOOK_ALIKE_SALES_MS, LOOK_ALIKE_EVENTS_MS = 13 * DAY_MS, 84 * HOUR_MS
#: Events (complaints, cancellations) one agent draws at most.
PER_AGENT = 2
#: Cooling-off period (days) in which a policy may be cancelled for a full refund.
COOLING_OFF_DAYS = 15
#: Late issues: this many hours after the sale (the contract: 48).
LATE_ISSUE_H = (49, 72)
#: Money per payment, in units of ``PEERS.money_unit_cny``: claims (by shape), premiums.
CLAIM_UNITS = {"many_claims": (2.0, 3.5), "large_claims": (3.5, 5.0), "ordinary_rate": (1.0, 2.0),
               "small_scorecard": (2.0, 5.0)}
PREMIUM_UNITS = (0.5, 4.5)


class ScorecardScenarios(ServiceScenarios):
    """A partner whose scorecard is out of line with its peers', or looks it and is not."""

    # --- the partner, the counts, the times -------------------------------------------
    def _scorecard_partner(self, metric: str, agents_needed: int, span: tuple[int, int]) -> tuple[str, list[int]]:
        """A partner with at least ``agents_needed`` agents, in no other partner scenario and with no
        scenario event that the metric's detector reads, preferably outside the branches of agent
        peer comparisons of the same rate and (for complaints during ``span``, ms) in a branch with
        the fewest other complaints meanwhile; set aside with all its agents."""
        pop, b = self.pop, self.b
        reads = METRICS[metric].event_types
        touched = {e.get("partner_id") for _, e in self.log.added() if e["event_type"] in reads}
        touched |= self.truth_entities("partner")
        members: dict[str, list[int]] = {p.partner_id: [] for p in pop.partners}
        for i, agent in enumerate(pop.agents):
            if agent.partner_id is not None:
                members[agent.partner_id].append(i)
        able = [p for p, agents in members.items() if len(agents) >= agents_needed and p not in touched
                and p not in b.reserved.partners and p not in b.partner_registry]
        peers = self.peer_branches(AGENT_RATES[metric]) if metric in AGENT_RATES else set()
        pool = [p for p in able if pop.partner(p).branch_id not in peers] or able
        if not pool:
            raise ValueError("not enough partners for the partner scorecard scenarios: raise partners or agents")
        if metric == "complaints":  # its branch must not spike with others' complaints
            self.focus = span
            load = self.complaint_load("branch_id")
            least = min(load[pop.partner(p).branch_id] for p in pool)
            pool = [p for p in pool if load[pop.partner(p).branch_id] == least]
        partner = self.rng.choice(sorted(pool))
        b.reserved.partners.add(partner)
        b.reserved.quiet_agents.update(members[partner])
        return partner, members[partner]

    def _counts(self, metric: str, variant: str, benign: bool) -> tuple[int, int]:
        """``(exposure, events)``: policies (tasks, units) and complaints (late tasks, claim units...)."""
        rng = self.rng
        prior = getattr(PEERS, METRICS[metric].prior_field)
        if benign and variant == "ordinary_rate":
            return rng.randint(PEERS.min_exposure, PEERS.min_exposure + 4), rng.randint(1, 2)
        if benign:  # as many events as the smallest judged scorecard needs, on fewer policies
            exposure = rng.randint(18, 24)
            return exposure, min(events_needed(PEERS.min_exposure, prior, PEERS), exposure - 2)
        exposure = rng.randint(PEERS.min_exposure, PEERS.min_exposure + 4)
        return exposure, min(exposure - 1, events_needed(exposure, prior, PEERS) + rng.randint(0, 2))

    def _span(self, typology: str, benign: bool) -> tuple[int, int, int]:
        """``(sales from, events from, events to)`` ms. The scenarios of a typology take turns in
        the lead-in, one after the other (each flagged before the next begins, so none is an
        unflagged peer of another); the look-alikes' events come after all turns, in the last
        days before the run, so that their high rates never weigh on a scenario's peers."""
        tl = self.tl
        if benign:
            return tl.start_ms - LOOK_ALIKE_SALES_MS, tl.start_ms - LOOK_ALIKE_EVENTS_MS, tl.start_ms - 2 * HOUR_MS
        index, count = self.b.place(typology, False)
        first, last = tl.start_ms - TURNS_MS[0], tl.start_ms - TURNS_MS[1]
        width = (last - first) // max(1, count)
        lo = first + index * width
        return max(tl.start_ms - LEAD_IN_MS, lo - 2 * DAY_MS), lo, lo + width

    def _sale_at(self, lo: int, hi: int) -> int:
        return self.tl.sample_any(self.rng, "sales", lo, hi)

    def _agents_for_events(self, agents: list[int], n: int, variant: str) -> list[int]:
        """The agent behind each of ``n`` events: one each as far as the agents go (``pairs``:
        two each), never more than :data:`PER_AGENT`."""
        order = list(agents)
        self.rng.shuffle(order)
        if variant == "pairs":
            order = order[:math.ceil(n / PER_AGENT)]
        return [order[i % len(order)] for i in range(n)]

    # --- policies sold with an event each, and the others ---------------------------
    def _policies(self, metric: str, variant: str, benign: bool, agents: list[int], exposure: int,
                  events: int) -> list[int]:
        """The partner's sales, ``events`` of them with the metric's event; returns the evidence times."""
        rng = self.rng
        sales_from, events_from, events_to = self._span(METRICS[metric].typology, benign)
        lead_in = self.tl.start_ms - LEAD_IN_MS
        times: list[int] = []
        categories = ("health", "protection") if metric == "cooling_off" else ()
        if metric == "processing_time":  # the sales of late issues begin no earlier than the lead-in
            events_from = max(events_from, lead_in + LATE_ISSUE_H[1] * HOUR_MS)
        spread = self.tl.spread_any(rng, "service", events_from, events_to, events)
        for at, agent in zip(spread, self._agents_for_events(agents, events, variant)):
            if metric == "processing_time":  # the event is the late issue, two days or more after the sale
                sold = self._sale_at(at - LATE_ISSUE_H[1] * HOUR_MS, at - LATE_ISSUE_H[0] * HOUR_MS)
                self.sell(agent, sold, issued=at)
            else:
                sold = self._sale_at(max(lead_in, at - 10 * DAY_MS), at - 12 * HOUR_MS)
                policy, issued = self.sell(agent, sold, categories=categories)
                if metric == "complaints":
                    self.complain(at, agent, rng.choice(OTHER_CATEGORIES), policy=policy,
                                  resolved=at + rng.randint(2, 48) * HOUR_MS)
                else:
                    self._cancel(policy, issued, at)
            times += [sold, at]
        for _ in range(exposure - events):
            sold = self._sale_at(sales_from, events_to if not benign else events_from)
            _, issued = self.sell(rng.choice(agents), sold)
            times += [sold, issued]  # a task done at the issue
        return times

    def _cancel(self, policy: Policy, issued: int, at: int) -> None:
        """The first premium paid after issue, the policy cancelled in its cooling-off period at
        ``at``, and the premium refunded to the policyholder."""
        rng, log, pop = self.rng, self.log, self.pop
        amount = feed.instalment(policy)
        feed.premium_paid(log, issued + rng.randint(2, 60) * MINUTE_MS, pop, policy, amount,
                          rng.choice(("bank_transfer", "mobile")))
        feed.policy_ended(log, at, pop, policy, "cooling_off_cancelled", amount, (at - issued) // DAY_MS)
        refunded = at + rng.randint(1, 24) * HOUR_MS
        if refunded < self.tl.end_ms:
            feed.payout(log, refunded, pop, policy, "refund", amount)

    # --- money: premiums in, claims out ---------------------------------------------
    def _amounts(self, units: int, low: float, high: float) -> list[float]:
        """CNY amounts of ``low`` to ``high`` units each (the last may be smaller) that make ``units``."""
        unit = PEERS.money_unit_cny
        left, out = units * unit, []
        while left > high * unit:
            amount = round(self.rng.uniform(low, high) * unit, 2)
            out.append(amount)
            left -= amount
        return out + [round(left, 2)]

    def _money(self, variant: str, benign: bool, agents: list[int], exposure: int, claims: int) -> list[int]:
        """Premiums of ``exposure - claims`` units and claims paid of ``claims`` units; returns their times."""
        rng, pop, log = self.rng, self.pop, self.log
        sales_from, events_from, events_to = self._span(METRICS["loss_ratio"].typology, benign)
        times = []
        claim_amounts = self._amounts(claims, *CLAIM_UNITS[variant])
        for at, amount in zip(self.tl.spread_any(rng, "service", events_from, events_to, len(claim_amounts)),
                              claim_amounts):
            policy = self.book_policy(self.customer(), rng.choice(agents), ("health", "protection"))
            paid = at + rng.randint(5, 120) * MINUTE_MS
            feed.claim(log, at, pop, policy, "claim_settled", pop.ids.claim_id(), "health", amount)
            feed.payout(log, paid, pop, policy, "claim_payout", amount)
            times.append(paid)
        for amount in self._amounts(exposure - claims, *PREMIUM_UNITS):
            policy = self.book_policy(self.customer(), rng.choice(agents), ("long_term_savings", "annuity"))
            paid = self.tl.sample_any(rng, "payments", sales_from, events_to if not benign else events_from)
            feed.premium_paid(log, paid, pop, policy, amount, "bank_transfer")
            times.append(paid)
        return times

    # --- the scenario -----------------------------------------------------------------
    def scorecard(self, metric: str, variant: str, benign: bool) -> Result:
        exposure, events = self._counts(metric, variant, benign)
        needed = 1 if metric in ("processing_time", "loss_ratio") else math.ceil(events / PER_AGENT)
        _, events_from, events_to = self._span(METRICS[metric].typology, benign)
        partner, agents = self._scorecard_partner(metric, needed, (events_from, events_to))
        if metric == "loss_ratio":
            times = self._money(variant, benign, agents, exposure, events)
        else:
            times = self._policies(metric, variant, benign, agents, exposure, events)
        return "partner", partner, sorted(times)


for _metric, _detector in METRICS.items():
    register_families(ScorecardScenarios, _detector.typology, lambda s, benign, m=_metric: lambda v: s.scorecard(m, v, benign),
                      LOSS_SHAPES if _metric == "loss_ratio" else SHAPES, LOOK_ALIKES)
