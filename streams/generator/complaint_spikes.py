"""Complaint spike scenarios per branch, partner and product (see ``service`` for the overview).

12 to 16 complaints (15 to 19 for a product) within at most 12 h, each agent
drawing at most two, so no agent spikes; a partner's agents all work in its
branch, so a partner spike is a branch spike too (a side truth). Look-alikes:
5 to 7 complaints, fewer where the entity already has some, so that the day's
other complaints there cannot make twelve. A partner spike's partner (and a
look-alike's) is set aside (``Reserved.partners``): with the background's
sales of the day its scorecard would reach the 30 policies it is judged on,
and a dozen complaints on a few dozen policies is a scorecard outlier too; with
no sales in the run, it is not judged.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from streams.generator.service import (
    ALL_CATEGORIES,
    Result,
    ServiceScenarios,
    register_families,
)
from streams.generator.timeline import HOUR_MS

#: Complaints of a spike scenario, and of its look-alikes.
SPIKE_COMPLAINTS = {"complaint_spike_branch": (12, 16), "complaint_spike_partner": (12, 16),
                    "complaint_spike_product": (15, 19)}
SPIKE_BENIGN_COMPLAINTS = (5, 7)
SPIKE_SHAPES = ("burst", "working_day", "two_waves")


class SpikeScenarios(ServiceScenarios):
    """Complaint spikes of a branch, a partner or a product."""

    def _spike_times(self, variant: str, n: int) -> list[int]:
        if variant == "burst":
            span = self.b._span(HOUR_MS, 3 * HOUR_MS)
        elif variant == "working_day":
            span = self.b._span(6 * HOUR_MS, 11 * HOUR_MS)
        else:  # two_waves
            span = self.b._span(8 * HOUR_MS, 12 * HOUR_MS)
        start = self.in_run("service", span)
        if variant == "two_waves":
            first = n // 2
            return self.spread(start, span // 6, first) + self.spread(start + span - span // 6, span // 6, n - first)
        return self.spread(start, span, n)

    def _fewer(self, times: list[int], n: int) -> list[int]:
        """``n`` of ``times`` (a look-alike made smaller), in order, keeping the first and last."""
        if n >= len(times):
            return times
        inner = sorted(self.rng.sample(times[1:-1], n - 2)) if n > 2 else []
        return [times[0], *inner, times[-1]][:n]

    def _spike_complaints(self, times: list[int], agents: list[int]) -> None:
        rng = self.rng
        for ms, agent in zip(times, agents):
            resolved = ms + rng.randint(1, 8) * HOUR_MS if rng.random() < 0.6 else None
            # Naming a product only where few complaints are: the spike is the branch's, not a product's.
            self.complain(ms, agent, rng.choice(ALL_CATEGORIES), resolved=resolved, product_cap=3)

    def _pick_agents(self, pool: list[int], n: int, limit: dict[str, int] | None = None) -> list[int]:
        """``n`` complaint slots on agents of ``pool`` (dedicated), at most two per agent; with
        ``limit``, at most ``limit[field]`` of them per partner / branch and only where there is
        :meth:`room`, taken first where other complaints are fewest."""
        rng = self.rng
        free = self.free_agents(pool)
        rng.shuffle(free)
        picked: list[int] = []
        mine: Counter = Counter()
        if limit:
            loads = {field: self._load(field) for field in ("branch_id", "partner_id")}
            peers = self.peer_branches()

            def load(a: int) -> int:
                return sum(loads[f][key] for f in limit if (key := getattr(self.pop.agents[a], f)) is not None)

            free.sort(key=lambda a: (load(a) >= 4, self.pop.agents[a].branch_id in peers, load(a)))
            sinks = self.sinks()
        for agent in free:
            if limit:
                a = self.pop.agents[agent]
                keys = [(f, getattr(a, f)) for f in limit if getattr(a, f) is not None]
                if any(mine[k] >= limit[k[0]] for k in keys) or not self.room(agent, loads, sinks, mine, limit):
                    continue
                mine.update(keys)
            picked.append(agent)
            if len(picked) == n:
                break
        if 2 * len(picked) < n:
            raise ValueError("not enough agents for a complaint spike scenario: raise agents")
        for agent in picked:
            self.b.reserved.quiet_agents.add(agent)
        slots = picked + picked[: n - len(picked)]  # a second complaint for some, when agents are few
        rng.shuffle(slots)
        return slots

    def _quiet_entity(self, field: str, candidates: list[str], capacity: Callable[[str], int], needed: int,
                      load_of: Callable[[str], int], branch_of: Callable[[str], str] = lambda c: c) -> str:
        """A candidate that can take ``needed`` complaints (``capacity``: two per free agent),
        in no other scenario's truth, with the fewest other complaints (``load_of``), and for a
        branch or partner not in (the branch of) an agent peer comparison."""
        used = self.truth_entities(field.removesuffix("_id"))
        peers = self.peer_branches() if field != "product_id" else set()
        able = [c for c in candidates if capacity(c) >= needed] or candidates
        # Load first (beyond a few complaints), then away from peer comparisons, then the least load.
        rank = {c: (c in used, load_of(c) >= 4, branch_of(c) in peers, load_of(c)) for c in able}
        best = min(rank.values())
        return self.rng.choice([c for c in able if rank[c] == best])

    def _spike_size(self, typology: str, benign: bool, load: int = 0) -> int:
        """Complaints of a spike, or of a look-alike: then at most 8 with the ``load`` of its
        entity, so that the day's other complaints there cannot make it 12."""
        rng = self.rng
        if not benign:
            return rng.randint(*SPIKE_COMPLAINTS[typology])
        return max(2, min(rng.randint(*SPIKE_BENIGN_COMPLAINTS), 8 - load))

    def branch_spike(self, variant: str, benign: bool = False) -> Result:
        pop = self.pop
        n = self._spike_size("complaint_spike_branch", benign)
        times = self._spike_times(variant, n)
        self.focus = (times[0], times[-1])

        def tied(branch: str) -> list[int]:
            return [a for a in pop.agents_of_branch[branch] if pop.agents[a].partner_id is None]

        load = self._load("branch_id")
        branch = self._quiet_entity("branch_id", list(pop.agents_of_branch),
                                    lambda b: 2 * len(self.free_agents(tied(b))), n, load.__getitem__)
        if benign:
            n = self._spike_size("complaint_spike_branch", benign, load[branch])
        pool = tied(branch) if len(self.free_agents(tied(branch))) * 2 >= n else pop.agents_of_branch[branch]
        agents = self._pick_agents(pool, n, {"partner_id": 5})
        times = self._fewer(times, n)
        self._spike_complaints(times, agents)
        return "branch", branch, times

    def partner_spike(self, variant: str, benign: bool = False) -> Result:
        pop = self.pop
        n = self._spike_size("complaint_spike_partner", benign)
        times = self._spike_times(variant, n)
        self.focus = (times[0], times[-1])
        members = {p.partner_id: [i for i, a in enumerate(pop.agents) if a.partner_id == p.partner_id]
                   for p in pop.partners if p.partner_id not in self.b.reserved.partners}
        # Its branch holds the partner's complaints and its other agents'.
        load = self._load("branch_id")
        partner = self._quiet_entity("partner_id", list(members), lambda p: 2 * len(self.free_agents(members[p])), n,
                                     lambda p: load[pop.partner(p).branch_id], lambda p: pop.partner(p).branch_id)
        # Set aside: a dozen complaints on a partner's policies sold today would put its scorecard
        # (complaints per policy sold) out of line too; with no sales in the run it is not judged.
        self.b.reserved.partners.add(partner)
        if benign:
            n = self._spike_size("complaint_spike_partner", benign, load[pop.partner(partner).branch_id])
        agents = self._pick_agents(members[partner], n)
        times = self._fewer(times, n)
        self._spike_complaints(times, agents)
        if not benign:  # a partner's agents all work in its branch: the branch spikes with it
            self.side_truth("complaint_spike_branch", "branch", pop.partner(partner).branch_id, times)
        return "partner", partner, times

    def product_spike(self, variant: str, benign: bool = False) -> Result:
        pop, rng = self.pop, self.rng
        n = self._spike_size("complaint_spike_product", benign)
        times = self._spike_times(variant, n)
        self.focus = (times[0], times[-1])
        load = self._load("product_id")
        product_id = self._quiet_entity("product_id", [p.product_id for p in pop.products], lambda p: n, n,
                                        load.__getitem__)
        if benign:
            n = self._spike_size("complaint_spike_product", benign, load[product_id])
        index = next(i for i, p in enumerate(pop.products) if p.product_id == product_id)
        agents = self._pick_agents(list(range(len(pop.agents))), n, {"branch_id": 2, "partner_id": 2})
        times = self._fewer(times, n)
        for ms, agent in zip(times, agents):
            ci = self.customer()
            policy = pop.new_policy(rng, ci, agent, issued_days_ago=rng.randint(30, 3 * 365), product_index=index)
            resolved = ms + rng.randint(1, 8) * HOUR_MS if rng.random() < 0.6 else None
            self.complain(ms, agent, rng.choice(ALL_CATEGORIES), policy=policy, resolved=resolved)
        return "product", product_id, times


for _typology, _method in (("complaint_spike_branch", "branch_spike"), ("complaint_spike_partner", "partner_spike"),
                           ("complaint_spike_product", "product_spike")):
    register_families(SpikeScenarios, _typology, lambda s, benign, m=_method: lambda v: getattr(s, m)(v, benign),
                      SPIKE_SHAPES, ("burst", "working_day"))
