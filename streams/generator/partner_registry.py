"""The partner registry of a generated population, and the registry scenarios.

:func:`registry_records` writes one ``partner.registry`` record per partner of
the population (``streams/schemas/partner-record.v1.json``): its type and
branch, admitted two years before the run, qualified until a year after it,
with contract targets; scenarios change a few of them (the changes are kept
in ``ScenarioBuilder.partner_registry``). The records come before the events
in a JSON-lines file, and go to ``partner.registry`` before the events go to
their topics: a status change then takes effect by its effective time alone.

Scenarios (each on a partner no other registry scenario uses and, for the
look-alikes, with no business of its own after the change):

* ``partner_barred_business``: a partner blacklisted, suspended or terminated
  during the run (or terminated days before it) and 2 to 4 sales through its
  agents after the effective time. The truth window starts at the effective
  time: any business after it, the background's too, is the finding.
  Look-alikes: sales in the day before a blacklisting that takes effect at
  the end of the run, and sales through a partner suspended weeks before the
  run and reinstated before it.
* ``partner_qualification_expired``: a partner whose qualification runs out
  during the run, and 2 to 4 sales after it. Look-alike: sales in the hour
  before a qualification that runs out at the end of the run.
* ``branch_accountability``: two or three ``alert_confirmed`` events of
  ``critical`` alerts on one branch, within the run or days before it.
  Look-alikes: one confirmed critical alert; two confirmed ``high`` ones.
"""
from __future__ import annotations

from streams.generator.model import iso_z
from streams.generator.population import Population
from streams.generator.service import Result, ServiceScenarios, register_families
from streams.generator.timeline import DAY_MS, HOUR_MS
from streams.schemas import PARTNER_RECORD_TYPE, SCHEMA_VERSION

MINUTE_MS = 60_000
#: Contract targets every generated partner signs (hours).
PROCESSING_TARGETS_H = {"policy_issuance": 48.0, "claim_settlement": 240.0}
COMPLIANCE_TARGET = 0.98


def registry_records(pop: Population, start_ms: int, changes: dict[str, dict]) -> list[dict]:
    """One registry record per partner, with the scenarios' ``changes``, sorted by partner id."""
    records = []
    for partner in pop.partners:
        change = changes.get(partner.partner_id, {})
        admitted = start_ms - 730 * DAY_MS
        statuses = [("active", "admitted", admitted), *change.get("status_changes", ())]
        agents = sum(1 for a in pop.agents if a.partner_id == partner.partner_id)
        records.append({
            "schema_version": SCHEMA_VERSION, "record_type": PARTNER_RECORD_TYPE,
            "partner_id": partner.partner_id, "partner_type": partner.kind, "branch_id": partner.branch_id,
            "qualification_valid_until": iso_z(change.get("qualification_valid_until", start_ms + 365 * DAY_MS)),
            "contract": {"processing_time_targets_h": dict(PROCESSING_TARGETS_H),
                         "compliance_target": COMPLIANCE_TARGET, "expected_monthly_volume": 20 * max(1, agents)},
            "status_changes": [{"status": s, "reason": r, "effective_time": iso_z(ms)} for s, r, ms in statuses],
        })
    return records


class RegistryScenarios(ServiceScenarios):
    """Business through barred or unqualified partners, and branches with repeated confirmed findings."""

    def _registry_partner(self, quiet: tuple[int, int] | None = None) -> tuple[str, list[int]]:
        """A partner with agents that no registry scenario uses yet; with ``quiet`` (ms, ms) also
        one with no scenario business in that span. Returns it and its agents."""
        pop = self.pop
        busy = {e.get("partner_id") for ms, e in self.log.added() if quiet is not None and quiet[0] <= ms <= quiet[1]}
        members = {p.partner_id: [i for i, a in enumerate(pop.agents) if a.partner_id == p.partner_id]
                   for p in pop.partners}
        free = [p for p, agents in members.items()
                if agents and p not in self.b.partner_registry and p not in busy and p not in self.b.reserved.partners]
        if not free:
            raise ValueError("not enough partners for the registry scenarios: raise partners")
        # Away from other partner scenarios where possible: their KPIs would see this one's sales.
        used = self.truth_entities("partner")
        partner = self.rng.choice(sorted([p for p in free if p not in used] or free))
        self.b.partner_registry[partner] = {}
        return partner, members[partner]

    def _sales_before(self, ms: int) -> list[int]:
        """2 to 4 sales in the sales hours of the day before ``ms`` (the end of the run, early
        in the morning: the evening before), issued (up to an hour after the sale) before it too."""
        tl, rng = self.tl, self.rng
        return sorted(tl.sample(rng, "sales", lo=ms - DAY_MS, hi=ms - 65 * MINUTE_MS)
                      for _ in range(rng.randint(2, 4)))

    def _sales(self, agents: list[int], times: list[int]) -> None:
        for ms in times:
            self.sell(self.rng.choice(agents), ms, callback=False)

    def barred(self, variant: str, benign: bool = False) -> Result:
        rng, tl = self.rng, self.tl
        if benign and variant == "sold_before_blacklisting":
            effective = tl.end_ms + MINUTE_MS
            partner, agents = self._registry_partner(quiet=(effective, 2 * effective))
            times = self._sales_before(effective)
            self.b.partner_registry[partner]["status_changes"] = [("blacklisted", "forged sales records", effective)]
            self._sales(agents, times)
            return "partner", partner, times
        if benign:  # reinstated: suspended for two weeks, six to eight weeks before the run
            suspended = tl.start_ms - rng.randint(42, 56) * DAY_MS
            partner, agents = self._registry_partner(quiet=(suspended, suspended + 14 * DAY_MS))
            self.b.partner_registry[partner]["status_changes"] = [
                ("suspended", "licence under review", suspended),
                ("active", "licence renewed", suspended + 14 * DAY_MS)]
            times = self.sales_times(rng.randint(2, 4))
            self._sales(agents, times)
            return "partner", partner, times
        status = {"blacklisted_today": "blacklisted", "suspended_today": "suspended"}.get(variant, "terminated")
        if variant == "terminated_before_run":
            effective = tl.start_ms - rng.randint(1, 10) * DAY_MS
        else:
            effective = self.in_run("sales", 4 * HOUR_MS)
        partner, agents = self._registry_partner()
        reason = {"blacklisted": "fraudulent policies found in audit", "suspended": "compliance rate below target",
                  "terminated": "contract terminated"}[status]
        self.b.partner_registry[partner]["status_changes"] = [(status, reason, effective)]
        lo = max(effective, tl.start_ms) + MINUTE_MS
        times = sorted(tl.sample(rng, "sales", lo=lo, hi=tl.end_ms - HOUR_MS) for _ in range(rng.randint(2, 4)))
        self._sales(agents, times)
        return "partner", partner, [effective, *times]

    def unqualified(self, variant: str, benign: bool = False) -> Result:
        rng, tl = self.rng, self.tl
        if benign:
            until = tl.end_ms + MINUTE_MS
            partner, agents = self._registry_partner(quiet=(until, 2 * until))
            times = self._sales_before(until)
        else:
            until = self.in_run("sales", 4 * HOUR_MS)
            partner, agents = self._registry_partner()
            times = sorted(tl.sample(rng, "sales", lo=until + MINUTE_MS, hi=tl.end_ms - HOUR_MS)
                           for _ in range(rng.randint(2, 4)))
        self.b.partner_registry[partner]["qualification_valid_until"] = until
        self._sales(agents, times)
        return "partner", partner, ([] if benign else [until]) + times

    def branch_findings(self, variant: str, benign: bool = False) -> Result:
        rng, tl, pop = self.rng, self.tl, self.pop
        used = self.truth_entities("branch", ("branch_accountability",))
        branch = rng.choice(sorted(set(pop.branches) - used) or pop.branches)
        if not benign:
            count = 3 if variant == "three_findings" else 2
            first = tl.start_ms - rng.randint(2, 14) * DAY_MS if variant == "one_days_ago" else \
                self.in_run("service", 2 * HOUR_MS)
            times = [first] + sorted(self.in_run("service") for _ in range(count - 1))
            times = sorted(max(t, first) for t in times)
            tiers = ["critical"] * count
        elif variant == "one_critical":
            times, tiers = [self.in_run("service")], ["critical"]
        elif variant == "two_high":
            times, tiers = sorted(self.in_run("service") for _ in range(2)), ["high", "high"]
        else:
            raise ValueError(f"unknown variant {variant}")
        typologies = ("partner_barred_business", "misleading_sales_phrase", "structuring", "round_tripping")
        for i, (ms, tier) in enumerate(zip(times, tiers)):
            self.log.add(ms, "alert_confirmed", f"confirmed-{branch}-{ms}", {
                "typology": rng.choice(typologies), "tier": tier, "branch_id": branch,
                "alert_id": f"AL-{branch}-{ms}-{i}"})
        # The alert comes with the second finding.
        return "branch", branch, times if benign else times[1:]


register_families(RegistryScenarios, "partner_barred_business", lambda s, benign: lambda v: s.barred(v, benign),
                  ("blacklisted_today", "suspended_today", "terminated_before_run"),
                  ("sold_before_blacklisting", "reinstated"))
register_families(RegistryScenarios, "partner_qualification_expired",
                  lambda s, benign: lambda v: s.unqualified(v, benign), ("expired_today",), ("expires_at_end",))
register_families(RegistryScenarios, "branch_accountability", lambda s, benign: lambda v: s.branch_findings(v, benign),
                  ("two_today", "three_findings", "one_days_ago"), ("one_critical", "two_high"))
