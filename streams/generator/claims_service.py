"""Claims service scenarios: late claims, and a region out of line (see ``service``).

A region scenario takes a region no other one uses; late claims of other
scenarios go to a region with fewer than two of them, or else to one already
out of line, so they never add up to an outlier nobody labelled.
"""
from __future__ import annotations

from collections import Counter

from streams.generator import feed
from streams.generator.population import Policy, region_of_branch
from streams.generator.service import MARGIN_MS, MINUTE_MS, Result, ServiceScenarios, register_families
from streams.generator.servicing import CONTACT_MS, SETTLEMENT_MS, SMALL_MOTOR_CNY
from streams.generator.timeline import HOUR_MS


class ClaimScenarios(ServiceScenarios):
    """Claims that miss their service target, one by one or across a region."""

    def claim_load(self) -> Counter:
        """Claims reported in the scenarios so far, per region."""
        return Counter(e["region"] for _, e in self.log.added() if e["event_type"] == "claim_reported")

    def late_claims_by_region(self) -> Counter:
        """Late-claim truths so far, per region of the claim's policy."""
        region_of = {e["policy_id"]: e["region"] for _, e in self.log.added() if e["event_type"] == "claim_reported"}
        return Counter(region_of.get(t.entity_id) for t in self.b.truths if not t.benign
                       and t.typology in ("claim_settlement_late", "claim_contact_late"))

    def _region(self, outlier: bool) -> str:
        """A region for a region scenario: one no other region scenario uses, with the fewest
        scenario claims. For a late claim: one with fewer than two late claims of
        scenarios that no region scenario uses, or else the one with the fewest (a region
        already out of line first), so scenarios do not add up to an outlier."""
        regions = sorted({region_of_branch(b) for b in self.pop.agents_of_branch})
        used = self.truth_entities("region")
        outliers = {t.entity_id for t in self.b.truths if t.typology == "region_claims_outlier" and not t.benign}
        if outlier:
            pool = [r for r in regions if r not in used] or [r for r in regions if r not in outliers] or regions
            load = self.claim_load()
        else:
            late = self.late_claims_by_region()
            pool = [r for r in regions if r not in used and late[r] < 2]
            if not pool:
                pool = [r for r in regions if r in outliers] or [r for r in regions if r not in used] or regions
            load = late
        least = min(load[r] for r in pool)
        return self.rng.choice([r for r in pool if load[r] == least])

    def _claim_policy(self, region: str, categories: tuple[str, ...]) -> Policy:
        """A book policy of a dedicated customer, sold by an agent of a branch in ``region``."""
        pop = self.pop
        agents = [a for b, members in pop.agents_of_branch.items() if region_of_branch(b) == region
                  for a in members if self.b.open_to_business(a)]
        return self.book_policy(self.customer(), self.rng.choice(agents), categories)

    def _claim(self, policy: Policy, reported: int, kind: str, amount: float, met_at: int | None,
               event: str) -> None:
        """A claim reported at ``reported`` and met (``event``: contacted or settled) at
        ``met_at`` if inside the timeline; a settlement is paid out."""
        pop, log = self.pop, self.log
        claim_id = pop.ids.claim_id()
        feed.claim(log, reported, pop, policy, "claim_reported", claim_id, kind, amount)
        if met_at is None or met_at >= self.tl.end_ms:
            return
        feed.claim(log, met_at, pop, policy, event, claim_id, kind, None if event == "claim_contacted" else amount)
        if event == "claim_settled":
            feed.payout(log, met_at, pop, policy, "claim_payout", amount)

    def settlement_late(self, variant: str, benign: bool = False) -> Result:
        rng = self.rng
        amount = round(rng.uniform(300.0, SMALL_MOTOR_CNY - 0.01), 2)
        late = {"settled_late": rng.randint(5, 150) * MINUTE_MS,
                "settled_next_day": rng.randint(15 * 60, 20 * 60) * MINUTE_MS}.get(variant, 0)
        reported = self.deadline_opening(SETTLEMENT_MS, after_ms=late if variant != "large_claim_settled_later"
                                         else 6 * HOUR_MS)
        deadline = reported + SETTLEMENT_MS
        policy = self._claim_policy(self._region(outlier=False), ("motor",))
        settled = {
            "settled_late": deadline + late,
            "settled_next_day": deadline + late,
            "never_settled": None,
            "settled_at_29_min": reported + 29 * MINUTE_MS + rng.randint(0, 59) * 1000,
            "settled_at_30_min": deadline,
            "large_claim_settled_later": reported + rng.randint(2 * 60, 6 * 60) * MINUTE_MS,
        }[variant]
        if variant == "large_claim_settled_later":
            amount = round(rng.uniform(SMALL_MOTOR_CNY, 30_000.0), 2)
        self._claim(policy, reported, "motor", amount, settled, "claim_settled")
        end = settled if settled is not None and settled > deadline else deadline
        return "policy", policy.policy_id, [reported, end]

    def contact_late(self, variant: str, benign: bool = False) -> Result:
        rng = self.rng
        late = rng.randint(60, 12 * 60) * MINUTE_MS if variant in ("contacted_late", "settled_late_without_call") \
            else 0
        reported = self.deadline_opening(CONTACT_MS, after_ms=late)
        deadline = reported + CONTACT_MS
        policy = self._claim_policy(self._region(outlier=False), ("motor", "protection"))
        met, event = {
            "never_contacted": (None, "claim_contacted"),
            "contacted_late": (deadline + late, "claim_contacted"),
            "settled_late_without_call": (deadline + late, "claim_settled"),
            "contacted_at_71h": (reported + 71 * HOUR_MS + rng.randint(0, 59) * MINUTE_MS, "claim_contacted"),
            "contacted_next_day": (self.tl.next_open(rng, "service", reported + rng.randint(16, 30) * HOUR_MS),
                                   "claim_contacted"),
            "settled_in_time_without_call": (reported + rng.randint(48 * 60, 70 * 60) * MINUTE_MS, "claim_settled"),
        }[variant]
        self._claim(policy, reported, "injury", round(rng.uniform(5_000.0, 80_000.0), 2), met, event)
        end = met if met is not None and met > deadline else deadline
        return "policy", policy.policy_id, [reported, end]

    def region_outlier(self, variant: str, benign: bool = False) -> Result:
        rng = self.rng
        region = self._region(outlier=True)
        if benign:
            n, misses = (rng.randint(3, 4), 2) if variant == "few_claims_two_late" else (12, 1)
        else:
            n, misses = rng.randint(10, 14), rng.randint(7, 10)
        kinds = {"motor_backlog": ["motor"] * n, "injury_backlog": ["injury"] * n}.get(
            variant, [rng.choice(("motor", "injury")) for _ in range(n)])
        if benign:
            kinds = ["motor"] * n
        missed = set(rng.sample(range(n), misses))
        span = self.b._span(2 * HOUR_MS, 8 * HOUR_MS)
        start = self.in_run("service", span + 4 * HOUR_MS + MARGIN_MS)
        motor_times = iter(self.spread(start, span, n))
        # Mixed: the injury claims' contact deadlines pass in the same span, so that the region is
        # decided out of line once (on a long timeline, decisions days apart could re-arm it).
        injury_deadlines = iter(self.spread(start, span, n))
        decided: list[int] = []
        for i, kind in enumerate(kinds):
            policy = self._claim_policy(region, ("motor",))
            if kind == "motor":
                reported = next(motor_times)
                deadline = reported + SETTLEMENT_MS
                late = rng.choice((None, rng.randint(5, 180) * MINUTE_MS))
                met = (None if late is None else deadline + late) if i in missed \
                    else reported + rng.randint(5, 25) * MINUTE_MS
                self._claim(policy, reported, "motor", round(rng.uniform(300.0, SMALL_MOTOR_CNY - 0.01), 2), met,
                            "claim_settled")
                typology = "claim_settlement_late"
            else:
                reported = next(injury_deadlines) - CONTACT_MS if variant == "mixed" else \
                    self.deadline_opening(CONTACT_MS, after_ms=12 * HOUR_MS)
                deadline = reported + CONTACT_MS
                met = (rng.choice((None, deadline + rng.randint(60, 12 * 60) * MINUTE_MS)) if i in missed
                       else self.tl.next_open(rng, "service", reported + rng.randint(60, 30 * 60) * MINUTE_MS))
                self._claim(policy, reported, "injury", round(rng.uniform(5_000.0, 80_000.0), 2), met,
                            "claim_contacted")
                typology = "claim_contact_late"
            if i in missed:
                end = met if met is not None and met < self.tl.end_ms else deadline
                self.side_truth(typology, "policy", policy.policy_id, [reported, end])
                decided += [reported, end]
            elif met is not None:
                decided += [reported, met]
        return "region", region, [min(decided), max(decided)]


register_families(ClaimScenarios, "region_claims_outlier", lambda s, benign: lambda v: s.region_outlier(v, benign),
                  ("motor_backlog", "injury_backlog", "mixed"), ("few_claims_two_late", "busy_region_one_late"))
register_families(ClaimScenarios, "claim_settlement_late", lambda s, benign: lambda v: s.settlement_late(v, benign),
                  ("settled_late", "settled_next_day", "never_settled"),
                  ("settled_at_29_min", "settled_at_30_min", "large_claim_settled_later"))
register_families(ClaimScenarios, "claim_contact_late", lambda s, benign: lambda v: s.contact_late(v, benign),
                  ("never_contacted", "contacted_late", "settled_late_without_call"),
                  ("contacted_at_71h", "contacted_next_day", "settled_in_time_without_call"))
