"""Service-quality and partner scenarios: callbacks, complaints, claims and partner KPIs,
each with benign look-alikes. Registered with :func:`~streams.generator.scenarios.scenario_family`.

Every scenario is shaped to be caught by the detectors as configured by
default, and every look-alike to be passed by them:

* ``callback_failed``: a new policy's callback fails; retried later, failing
  twice, or not retried. Look-alikes: a callback that succeeds at once, or
  after the customer rescheduled it.
* ``callback_missing``: no successful callback 72 h after issue: never
  called, failed and not retried, or called back at 73 to 84 h. Look-alikes:
  called back at 71 h, exactly at 72 h, or after a failure within 72 h.
* ``complaint_overdue``: a fast-track complaint (``deadline_hours`` 2, 4, 8 or
  24 set by the complaint system) not resolved, or resolved late; a complaint
  under the 15-day regulatory deadline not resolved. Look-alikes: resolved a
  few minutes before the deadline, or exactly at it.
* ``mis_selling_complaint``: a complaint in the mis-selling category about a
  recent sale, a book policy, or no policy named. Look-alikes: the same
  shapes in other categories.
* ``complaint_spike_branch`` / ``_partner`` / ``_product``: 12 to 16 (15 to
  19 for a product) complaints within at most 12 h against one branch (tied
  agents), one partner's agents, or one product (customers of agents across branches), each
  agent drawing at most two, so no agent spikes; in a burst, over a working
  day, or in two waves. A partner's agents all work in its branch, so a
  partner spike is a branch spike too (a side truth). Look-alikes: 5 to 7.
* ``partner_compliance_rate``: 12 to 16 sales through one partner's agents, 7
  to 9 of them with a mis-selling signal: mostly mis-selling complaints (five
  or six, the rest banned phrases) about sales of the days before, banned
  phrases in the day's sales (each also a ``misleading_sales_phrase`` side
  truth), or half and half. Look-alikes: three sales and one signal, ten
  sales and two.
* ``partner_contract_deviation``: 12 to 18 policies through one partner whose
  applied commission is 10% to 30% above its contract's (today, over the
  days before, or on most of its policies). Look-alikes: within 1.5% of the
  contract, or only two policies far off it.
* ``region_claims_outlier``: 10 to 14 claims in one region, 7 to 10 of them
  missing their target (small motor claims settled late or never, injury
  claims not contacted in 72 h, or both); each miss is also a late-claim side
  truth. Look-alikes: a region with three or four claims and two misses, or
  twelve claims and one.
* ``claim_settlement_late``: a small motor claim settled after 35 min to 3 h,
  the next day, or never. Look-alikes: settled at 29 min, exactly at 30 min,
  or a claim over 5,000 CNY settled hours later.
* ``claim_contact_late``: an injury claim never contacted, contacted at 73 to
  84 h, or settled late without a call. Look-alikes: contacted at 71 h, the
  next day, or settled within 72 h.

An absence needs its deadline to pass inside the timeline: a deadline longer
than the timeline (72 h, 15 days, in a one-day run) starts before it, up to
:data:`LEAD_IN_MAX_DAYS` days: the policy was issued, the claim reported or the
complaint filed in the days before, and the extract carries those events too.
Deadlines pass at least :data:`MARGIN_MS` before the end, so the replay's
hourly sweep has fired the timer by then.

Entities of complaint-heavy scenarios (branches, partners, products) are
chosen where no other scenario's complaints are, late claims go to regions
already out of line (or the least loaded), and each partner serves one
scenario, so scenarios never add up to a pattern nobody labelled.

This module holds what the families share (:class:`ServiceScenarios`) and the
callback and complaint families; ``complaint_spikes``, ``partners`` and
``claims_service`` hold the others.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from random import Random

from streams.generator import feed
from streams.generator.background import COMPLAINT_RATE_PER_AGENT_DAY
from streams.generator.population import Policy, Population
from streams.generator.scenarios import ScenarioBuilder, ScenarioFunction, scenario_family
from streams.generator.timeline import DAY_MS, HOUR_MS
from streams.generator.transcripts import PHRASE_VARIANTS, clean_transcript, misleading_transcript

MINUTE_MS = 60_000
CALLBACK_MS = 72 * HOUR_MS
REGULATORY_COMPLAINT_MS = 15 * DAY_MS
#: How far before the timeline an absence scenario may begin.
LEAD_IN_MAX_DAYS = 16
#: Deadlines of absence scenarios pass at least this long before the end of the timeline.
MARGIN_MS = 3 * HOUR_MS
FAST_TRACK_HOURS = (2, 4, 8, 24)
OTHER_CATEGORIES = ("claims_service", "service_attitude", "billing", "other")
ALL_CATEGORIES = ("mis_selling", *OTHER_CATEGORIES)
#: Complaints a branch or partner may gather in the run from scenarios that do not make it spike
#: (with the background's expected), and how many one scenario may add where one spikes anyway.
CALM_CEILING = 9
SINK_EXTRA = 2

Result = tuple[str, str, list[int]]
#: field -> (population, its expected background complaints): one population's, computed once.
_BACKGROUND_COMPLAINTS: dict[str, tuple[Population, Counter]] = {}


class ServiceScenarios:
    """Builds the scenarios of this module into a :class:`ScenarioBuilder`.

    Keeps no state of its own: what other scenarios have used (agents,
    customers, branches, regions) is read from the builder's log, reservations
    and truths, so families built in any order see each other.
    """

    def __init__(self, builder: ScenarioBuilder) -> None:
        self.b = builder
        self.pop: Population = builder.pop
        self.rng: Random = builder.rng
        self.tl = builder.timeline
        self.log = builder.log
        #: The event-time span (ms) of the scenario being built: complaints elsewhere in time
        #: are in other detector windows, so only those within a day of it count as load.
        self.focus: tuple[int, int] | None = None

    # --- times ----------------------------------------------------------------------
    def deadline_opening(self, due_ms: int, after_ms: int = 0, profile: str = "service") -> int:
        """An opening time whose deadline (``due_ms`` later) passes inside the timeline,
        in the hours of ``profile``, at least ``after_ms`` + :data:`MARGIN_MS` before its end;
        before the timeline's start when the timeline is too short for the deadline."""
        tl, rng = self.tl, self.rng
        hi = tl.end_ms - MARGIN_MS - after_ms
        inside = tl.start_ms + due_ms + 30 * MINUTE_MS
        lo = inside if inside < hi else tl.start_ms + 30 * MINUTE_MS
        deadline = tl.sample(rng, profile, lo=lo, hi=max(hi, lo + MINUTE_MS))
        return deadline - due_ms

    def in_run(self, profile: str, span_ms: int = 0) -> int:
        return self.b._start(profile, span_ms)

    def days_before(self, ms: int, low: int, high: int, profile: str = "sales") -> int:
        """A time ``low`` to ``high`` days before ``ms``, at an hour ``profile`` is busy."""
        day_time = self.tl.sample(self.rng, profile, hi=self.tl.start_ms + DAY_MS)
        t = day_time - (day_time - ms) // DAY_MS * DAY_MS  # that time of day, on the day of ms
        t -= self.rng.randint(low, high) * DAY_MS
        return t if t < ms else t - DAY_MS

    def sales_times(self, n: int) -> list[int]:
        """``n`` sales in the run, in the hours sales are made."""
        return sorted(self.tl.sample(self.rng, "sales", hi=self.tl.end_ms - HOUR_MS) for _ in range(n))

    def spread(self, start: int, span: int, n: int) -> list[int]:
        return self.b._times(start, span, n)

    # --- people ---------------------------------------------------------------------
    def quiet_agent(self, candidates: Sequence[int] | None = None, avoid_peers: bool = False) -> int:
        """A dedicated agent (no background complaints, in no other scenario) of ``candidates``,
        in a branch and partner with few scenario complaints (a complaint against it must not
        tip them into a spike)."""
        reserved = self.b.reserved.quiet_agents
        pool = [a for a in (range(len(self.pop.agents)) if candidates is None else candidates) if a not in reserved]
        loads = {field: self._load(field) for field in ("branch_id", "partner_id")}
        no_sinks: dict[str, set[str]] = {"branch_id": set(), "partner_id": set()}
        pool = [a for a in pool if self.room(a, loads, no_sinks, Counter())] or pool
        if avoid_peers:  # its complaint about a sale of its own would raise its branch's peer rate
            peers = self.peer_branches()
            pool = [a for a in pool if self.pop.agents[a].branch_id not in peers] or pool
        if not pool:
            raise ValueError("not enough agents for the scenarios: raise agents")
        agent = self.rng.choice(pool)
        reserved.add(agent)
        return agent

    def free_agents(self, candidates: Sequence[int]) -> list[int]:
        return [a for a in candidates if a not in self.b.reserved.quiet_agents]

    def customer(self) -> int:
        return self.b._dedicated_customer()

    def transcript(self, policy: Policy, phrase: bool = False) -> str:
        pop, rng = self.pop, self.rng
        customer = pop.customers[policy.customer]
        kw = {"name": customer.name, "agent_id": pop.agents[policy.agent].agent_id,
              "product": pop.products[policy.product], "premium": policy.premium,
              "personal": (customer.name, customer.phone, customer.id_number)}
        if phrase:
            return misleading_transcript(rng, self.b.guard, rng.choice(PHRASE_VARIANTS), **kw)[0]
        return clean_transcript(rng, self.b.guard, english=rng.random() < 0.15, **kw)

    def sell(self, agent: int, sold: int, phrase: bool = False, commission: float | None = None,
             callback: bool = True, customer: int | None = None, issued: int | None = None,
             categories: tuple[str, ...] = ()) -> tuple[Policy, int]:
        """New business through ``agent``: the sale at ``sold`` (of one of ``categories`` if the
        customer may be sold one), the policy issued minutes later or at ``issued`` (applied
        commission ``commission``, default the contract's), and its callback within 44 h when it
        falls inside the timeline. Returns the policy and its issue time."""
        rng, pop = self.rng, self.pop
        ci = self.customer() if customer is None else customer
        policy = pop.new_policy(rng, ci, agent, categories=categories)
        feed.sale_recorded(self.log, sold, pop, policy, self.transcript(policy, phrase))
        issued = sold + rng.randint(5, 60) * MINUTE_MS if issued is None else issued
        feed.policy_issued(self.log, issued, pop, policy, commission)
        if callback:
            called = self.tl.next_open(rng, "service", issued + rng.randint(60, 30 * 60) * MINUTE_MS)
            if called < self.tl.end_ms:
                feed.callback(self.log, called, pop, policy)
        return policy, issued

    def book_policy(self, ci: int, agent: int, categories: tuple[str, ...] = ()) -> Policy:
        return self.pop.new_policy(self.rng, ci, agent, issued_days_ago=self.rng.randint(30, 5 * 365),
                                   categories=categories)

    def complain(self, ms: int, agent: int, category: str, policy: Policy | None = None, customer: int | None = None,
                 deadline_hours: float | None = None, resolved: int | None = None, product_cap: int | None = None,
                 ) -> str:
        """A complaint against ``agent`` (by ``customer``, or one of the agent's customers, about
        ``policy`` or one of theirs with the agent, of a product with fewer than ``product_cap``
        scenario complaints); resolved at ``resolved`` if inside the timeline."""
        pop = self.pop
        ci = customer if customer is not None else (policy.customer if policy else self.b._complainants(agent, 1)[0])
        if policy is None:
            own = [pop.policies[i] for i in pop.policies_of_customer.get(ci, []) if pop.policies[i].agent == agent]
            if product_cap is not None:
                load = self.complaint_load("product_id")
                own = [p for p in own if load[pop.products[p.product].product_id] < product_cap]
            policy = self.rng.choice(own) if own else None
        complaint_id = pop.ids.complaint_id()
        feed.complaint_filed(self.log, ms, pop, complaint_id, ci, agent, category, policy, deadline_hours)
        if resolved is not None and resolved < self.tl.end_ms:
            feed.complaint_resolved(self.log, resolved, pop, complaint_id, ci, agent)
        return complaint_id

    # --- what other scenarios use ---------------------------------------------------
    def complaint_load(self, field: str) -> Counter:
        """Complaints already in the scenarios, per branch, partner or product id (within a
        day of :attr:`focus` when it is set)."""
        lo, hi = (self.focus[0] - DAY_MS, self.focus[1] + DAY_MS) if self.focus else (-math.inf, math.inf)
        return Counter(e.get(field) for ms, e in self.log.added()
                       if e["event_type"] == "complaint_filed" and lo <= ms <= hi)

    def truth_entities(self, entity_type: str, typologies: Sequence[str] | None = None) -> set[str]:
        return {t.entity_id for t in self.b.truths
                if t.entity_type == entity_type and (typologies is None or t.typology in typologies)}

    def side_truth(self, typology: str, entity_type: str, entity_id: str, times: list[int]) -> None:
        self.b.side_truth(typology, entity_type, entity_id, times)

    def sinks(self) -> dict[str, set[str]]:
        """Branches and partners a scenario makes spike (within a day of :attr:`focus`): a few
        more complaints there raise nothing new."""
        spiking = {"branch_id": "complaint_spike_branch", "partner_id": "complaint_spike_partner"}
        lo, hi = (self.focus[0] - DAY_MS, self.focus[1] + DAY_MS) if self.focus else (-math.inf, math.inf)
        return {f: {t.entity_id for t in self.b.truths if t.typology == typology and not t.benign
                    and t.start * 1000 <= hi and t.end * 1000 >= lo}
                for f, typology in spiking.items()}

    def room(self, agent: int, loads: dict[str, Counter], sinks: dict[str, set[str]], mine: Counter,
             fields: Iterable[str] = ("branch_id", "partner_id")) -> bool:
        """Whether one more complaint against ``agent`` keeps its branch and partner (of
        ``fields``) below a spike: at most :data:`CALM_CEILING` complaints on each (other
        scenarios', the background's expected, and ``mine``), or at most :data:`SINK_EXTRA`
        of ``mine`` where one spikes anyway."""
        a = self.pop.agents[agent]
        for field in fields:
            key = getattr(a, field)
            if key is None:
                continue
            if key in sinks[field]:
                if mine[(field, key)] >= SINK_EXTRA:
                    return False
            elif loads[field][key] + mine[(field, key)] >= CALM_CEILING:
                return False
        return True

    def background_complaints(self, field: str) -> Counter:
        """Complaints the background files a day per branch, partner or product (expected): at
        COMPLAINT_RATE_PER_AGENT_DAY per agent, spread like the book's policies (as the
        population was built: scenarios' few policies do not move it)."""
        pop = self.pop
        cached = _BACKGROUND_COMPLAINTS.get(field)
        if cached is not None and cached[0] is pop:
            return cached[1]
        total = COMPLAINT_RATE_PER_AGENT_DAY * len(pop.agents)
        weights: Counter = Counter()
        for policy in pop.policies:
            key = (pop.products[policy.product].product_id if field == "product_id"
                   else getattr(pop.agents[policy.agent], field))
            weights[key] += 1
        whole = sum(weights.values()) or 1
        expected = Counter({k: total * w / whole for k, w in weights.items()})
        _BACKGROUND_COMPLAINTS[field] = (pop, expected)
        return expected

    def _load(self, field: str) -> Counter:
        """Complaints an entity gets besides a new scenario's: other scenarios', and the background's."""
        return self.complaint_load(field) + Counter({k: math.ceil(v) for k, v in
                                                     self.background_complaints(field).items()})

    def peer_branches(self, typology: str = "agent_outlier") -> set[str]:
        """Branches of agents that scenarios make stand out from their peers (in the typologies
        that start with ``typology``): complaints across the branch would raise the peer rate
        they are compared with."""
        agents = {a.agent_id: a.branch_id for a in self.pop.agents}
        return {agents[t.entity_id] for t in self.b.truths
                if t.typology.startswith(typology) and t.entity_id in agents}

    # --- callbacks ------------------------------------------------------------------
    def callback_failed(self, variant: str) -> Result:
        rng, pop, tl, log = self.rng, self.pop, self.tl, self.log
        agent = self.quiet_agent()
        failed = tl.sample(rng, "service", lo=tl.start_ms + HOUR_MS, hi=tl.end_ms - 4 * HOUR_MS)
        sold = self.days_before(failed - 2 * HOUR_MS, 0, 0)  # sold that day or the day before
        issued_at = sold + rng.randint(5, 60) * MINUTE_MS
        ci = self.customer()
        policy = pop.new_policy(rng, ci, agent)
        feed.sale_recorded(log, sold, pop, policy, self.transcript(policy))
        feed.policy_issued(log, issued_at, pop, policy)
        feed.callback(log, failed, pop, policy, rng.choice(("no_answer", "line_busy", "number_not_in_service")))
        retry = failed
        if variant == "failed_twice":
            retry = tl.next_open(rng, "service", failed + rng.randint(60, 4 * 60) * MINUTE_MS)
            if retry < tl.end_ms:
                feed.callback(log, retry, pop, policy, "no_answer")
        if variant != "not_retried":
            done = tl.next_open(rng, "service", retry + rng.randint(2 * 60, 6 * 60) * MINUTE_MS)
            if done < tl.end_ms and done - issued_at < CALLBACK_MS:
                feed.callback(log, done, pop, policy)
        return "policy", policy.policy_id, [failed]

    def callback_benign(self, variant: str) -> Result:
        rng, pop, tl, log = self.rng, self.pop, self.tl, self.log
        agent = self.quiet_agent()
        called = tl.sample(rng, "service", lo=tl.start_ms + HOUR_MS)
        sold = self.days_before(called - 2 * HOUR_MS, 0, 0)
        issued_at = sold + rng.randint(5, 60) * MINUTE_MS
        policy = pop.new_policy(rng, self.customer(), agent)
        feed.sale_recorded(log, sold, pop, policy, self.transcript(policy))
        feed.policy_issued(log, issued_at, pop, policy)
        feed.callback(log, called, pop, policy,
                      note="rescheduled_by_customer" if variant == "rescheduled_then_completed" else None)
        return "policy", policy.policy_id, [called]

    def callback_missing(self, variant: str, benign: bool = False) -> Result:
        rng, pop, tl, log = self.rng, self.pop, self.tl, self.log
        late = rng.randint(60, 12 * 60) * MINUTE_MS if variant == "completed_late" else 0
        issued = self.deadline_opening(CALLBACK_MS, after_ms=late)
        deadline = issued + CALLBACK_MS
        policy = pop.new_policy(rng, self.customer(), self.quiet_agent())
        feed.sale_recorded(log, issued - rng.randint(5, 60) * MINUTE_MS, pop, policy, self.transcript(policy))
        feed.policy_issued(log, issued, pop, policy)
        end = deadline
        if variant in ("failed_not_retried", "failed_then_completed_in_time"):
            feed.callback(log, tl.next_open(rng, "service", issued + rng.randint(60, 30 * 60) * MINUTE_MS), pop,
                          policy, rng.choice(("no_answer", "customer_refused", "number_not_in_service")))
        if variant == "completed_late":
            end = deadline + late
            feed.callback(log, end, pop, policy)
        elif variant == "completed_at_71h":
            feed.callback(log, issued + 71 * HOUR_MS + rng.randint(0, 59) * MINUTE_MS, pop, policy)
        elif variant == "completed_at_deadline":
            feed.callback(log, deadline, pop, policy)
        elif variant == "failed_then_completed_in_time":
            feed.callback(log, issued + rng.randint(48 * 60, 71 * 60) * MINUTE_MS, pop, policy)
        return "policy", policy.policy_id, [issued, end]

    # --- complaints -----------------------------------------------------------------
    def complaint_overdue(self, variant: str) -> Result:
        rng = self.rng
        category = rng.choice(ALL_CATEGORIES)
        if variant.startswith("regulatory"):
            hours = None
            due = REGULATORY_COMPLAINT_MS
        else:
            hours = rng.choice(FAST_TRACK_HOURS[:3] if variant == "fast_track_resolved_late" else FAST_TRACK_HOURS)
            due = hours * HOUR_MS
        late = rng.randint(10, 180) * MINUTE_MS
        filed = self.deadline_opening(due, after_ms=late)
        deadline = filed + due
        self.focus = (filed, filed)
        agent = self.quiet_agent()
        resolved = {
            "fast_track_resolved_late": deadline + late,
            "fast_track_resolved_in_time": deadline - rng.randint(1, 10) * MINUTE_MS,
            "regulatory_resolved_in_time": deadline - rng.randint(60, 20 * 60) * MINUTE_MS,
            "resolved_at_deadline": deadline,
        }.get(variant)
        complaint_id = self.complain(filed, agent, category, deadline_hours=hours, resolved=resolved)
        end = resolved if variant == "fast_track_resolved_late" else deadline
        return "complaint", complaint_id, [filed, end]

    def mis_selling_complaint(self, variant: str, benign: bool = False) -> Result:
        rng = self.rng
        filed = self.in_run("service", 10 * MINUTE_MS)
        self.focus = (filed, filed)
        agent = self.quiet_agent(avoid_peers=variant == "about_recent_sale")
        category = rng.choice(OTHER_CATEGORIES) if benign else "mis_selling"
        resolved = filed + rng.randint(2, 8) * HOUR_MS if rng.random() < 0.5 else None
        if variant == "about_recent_sale":
            policy, _ = self.sell(agent, self.days_before(filed, 2, 10))
            complaint_id = self.complain(filed, agent, category, policy=policy, resolved=resolved)
        elif variant == "about_book_policy":
            ci = self.customer()
            complaint_id = self.complain(filed, agent, category, policy=self.book_policy(ci, agent), resolved=resolved)
        else:  # without_policy: the complaint names no policy
            complaint_id = self.pop.ids.complaint_id()
            ci = self.customer()
            feed.complaint_filed(self.log, filed, self.pop, complaint_id, ci, agent, category)
        return "complaint", complaint_id, [filed]


def register_families(cls: type[ServiceScenarios], typology: str,
                      make: Callable[[ServiceScenarios, bool], ScenarioFunction], variants: Sequence[str],
                      benign_variants: Sequence[str]) -> None:
    """Register the scenario family of ``typology`` and of its look-alikes, built by ``cls``."""
    for benign, names in ((False, variants), (True, benign_variants)):
        scenario_family(typology, benign)(
            lambda builder, b=benign, n=tuple(names): (make(cls(builder), b), n))


register_families(ServiceScenarios, "callback_failed",
                  lambda s, benign: s.callback_benign if benign else s.callback_failed,
                  ("retried_later", "failed_twice", "not_retried"), ("completed_first_time", "rescheduled_then_completed"))
register_families(ServiceScenarios, "callback_missing", lambda s, benign: lambda v: s.callback_missing(v, benign),
                  ("never_called", "failed_not_retried", "completed_late"),
                  ("completed_at_71h", "completed_at_deadline", "failed_then_completed_in_time"))
register_families(ServiceScenarios, "complaint_overdue", lambda s, benign: s.complaint_overdue,
                  ("fast_track_unresolved", "fast_track_resolved_late", "regulatory_unresolved"),
                  ("fast_track_resolved_in_time", "regulatory_resolved_in_time", "resolved_at_deadline"))
register_families(ServiceScenarios, "mis_selling_complaint",
                  lambda s, benign: lambda v: s.mis_selling_complaint(v, benign),
                  ("about_recent_sale", "about_book_policy", "without_policy"),
                  ("about_recent_sale", "about_book_policy", "without_policy"))
