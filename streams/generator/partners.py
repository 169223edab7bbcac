"""Partner KPI scenarios: compliance rate and contract execution deviation (see ``service``).

Each partner serves one scenario of a typology; signals (banned phrases,
mis-selling complaints) go to dedicated agents, one each, and no more
complaints than the partner's branch has room for.
"""
from __future__ import annotations

from streams.generator.service import CALM_CEILING, Result, ServiceScenarios, register_families
from streams.generator.timeline import HOUR_MS


class PartnerScenarios(ServiceScenarios):
    """A partner below its compliance target, or off its contract."""

    def _partner(self, typology: str, signals: int) -> tuple[str, list[int], list[int]]:
        """A partner for a scenario of ``typology`` that no scenario of the same typology uses.
        With ``signals`` (mis-selling signals to place on dedicated agents): also none of a
        complaint spike, the fewest complaints on it and its branch, and ``signals`` free agents
        if possible. Returns it, all its agents, and its free agents."""
        pop = self.pop
        members = {p.partner_id: [i for i, a in enumerate(pop.agents) if a.partner_id == p.partner_id]
                   for p in pop.partners}
        members = {p: agents for p, agents in members.items()
                   if agents and p not in self.b.reserved.partners} or members
        used = self.truth_entities("partner", (typology,))
        spiking = self.truth_entities("partner", ("complaint_spike_partner",))
        branch_load, partner_load = self.complaint_load("branch_id"), self.complaint_load("partner_id")

        def rank(p: str) -> tuple:
            if not signals:
                return (p in used,)
            free = len(self.free_agents(members[p]))
            return (p in used, p in spiking, free == 0, branch_load[pop.partner(p).branch_id] + partner_load[p],
                    free < signals)

        best = min(rank(p) for p in members)
        partner = self.rng.choice([p for p in members if rank(p) == best])
        free = self.free_agents(members[partner])
        if signals and not free:
            raise ValueError("not enough partner agents for the scenarios: raise agents")
        return partner, members[partner], free

    def _agents_for(self, agents: list[int], n: int, reserve: bool = True) -> list[int]:
        """``n`` sales or signals spread over ``agents``, reserving them if ``reserve``."""
        rng = self.rng
        order = list(agents)
        rng.shuffle(order)
        if reserve:
            for agent in order[:n]:
                self.b.reserved.quiet_agents.add(agent)
        return [order[i % len(order)] for i in range(n)]

    def partner_compliance(self, variant: str, benign: bool = False) -> Result:
        rng = self.rng
        if benign:
            sold, signals = (3, 1) if variant == "few_sales_one_signal" else (10, 2)
        else:
            sold, signals = rng.randint(12, 16), rng.randint(7, 9)
        window = self.in_run("service", 8 * HOUR_MS)
        self.focus = (window, window + 6 * HOUR_MS)
        partner, members, free = self._partner("partner_compliance_rate", signals)
        # At most six complaints: a partner's agents all work in its branch, which must not spike.
        phrases = {"phrases": signals, "mixed": signals // 2}.get(variant, signals - rng.randint(5, 6))
        if benign:
            phrases = signals if variant == "few_sales_one_signal" else 1
        # No more complaints than its branch and the partner have room for; phrases for the rest.
        loads = {field: self._load(field) for field in ("branch_id", "partner_id")}
        room = CALM_CEILING - 1 - max(loads["branch_id"][self.pop.partner(partner).branch_id],
                                      loads["partner_id"][partner])
        if self.pop.partner(partner).branch_id in self.peer_branches():
            room = 0  # a complaint against a policy its agent sold would raise the peer rate there
        complaints = max(0, min(signals - phrases, room))
        phrases = signals - complaints
        # In the day when only phrases signal; otherwise sold over the days before the complaints.
        times = sorted(self.sales_times(sold) if complaints == 0
                       else [self.days_before(window, 1, 4) for _ in range(sold)])
        # One signal per dedicated agent (each costs integrity points); the other sales by any of its agents.
        flagged = rng.sample(range(sold), signals)
        phrase_at = set(flagged[:phrases])
        signal_agents = iter(self._agents_for(free, signals))
        other_agents = iter(self._agents_for(members, sold - signals, reserve=False))
        targets = []
        for i, ms in enumerate(times):
            agent = next(signal_agents) if i in flagged else next(other_agents)
            policy, _ = self.sell(agent, ms, phrase=i in phrase_at)
            if i in phrase_at:
                self.side_truth("misleading_sales_phrase", "policy", policy.policy_id, [ms])
            elif i in flagged:
                targets.append(policy)
        filed = self.spread(window, 6 * HOUR_MS, complaints) if complaints else []
        for ms, policy in zip(filed, targets):
            self.complain(ms, policy.agent, "mis_selling", policy=policy,
                          resolved=ms + rng.randint(2, 30) * HOUR_MS if rng.random() < 0.5 else None)
        return "partner", partner, [times[0], max([times[-1], *filed])]

    def partner_contract(self, variant: str, benign: bool = False) -> Result:
        rng, pop = self.rng, self.pop
        if benign:
            n = 2 if variant == "two_odd_policies" else rng.randint(12, 16)
        else:
            n = rng.randint(16, 20) if variant == "some_overbilled" else rng.randint(12, 18)
        partner, members, _ = self._partner("partner_contract_deviation", 0)
        agents = self._agents_for(members, n, reserve=False)
        contract = pop.partner(partner).commission_rate
        if variant == "overbilled_this_week":
            start = self.in_run("sales")
            times = sorted(self.days_before(start, 1, 5) for _ in range(n))
        else:
            times = self.sales_times(n)
        off = n if variant != "some_overbilled" else n - rng.randint(2, 4)
        evidence = []
        for i, (ms, agent) in enumerate(zip(times, agents)):
            if benign and variant == "within_tolerance":
                applied = contract * (1 + rng.uniform(-0.015, 0.015))
            elif benign:
                applied = contract * (1 + rng.uniform(0.2, 0.4))
            elif i < off:
                applied = contract * (1 + rng.uniform(0.10, 0.30))
            else:
                applied = contract
            _, issued = self.sell(agent, ms, commission=round(applied, 4))
            if benign or i < off:
                evidence.append(issued)
        return "partner", partner, [min(evidence), max(evidence)]


register_families(PartnerScenarios, "partner_compliance_rate", lambda s, benign: lambda v: s.partner_compliance(v, benign),
                  ("complaints", "phrases", "mixed"), ("few_sales_one_signal", "many_sales_two_signals"))
register_families(PartnerScenarios, "partner_contract_deviation",
                  lambda s, benign: lambda v: s.partner_contract(v, benign),
                  ("overbilled_today", "overbilled_this_week", "some_overbilled"), ("within_tolerance", "two_odd_policies"))
