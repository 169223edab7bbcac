"""Branch accountability (the "one-vote veto"): a branch with repeated confirmed
critical findings answers for them as a branch.

An investigator's ``confirmed`` disposition on an alert comes back on the
complaint stream as an ``alert_confirmed`` event (``streams.app`` writes it;
see also :mod:`detectors.integrity_score`) carrying the alert's ``alert_id``,
``typology``, ``tier`` and ``branch_id``. When a branch has at least
``min_findings`` (2) confirmed ``critical`` findings within ``window_s`` (365
days) of event time, ``branch_accountability`` raises ``high`` on the branch,
listing every finding (alert id, typology, time). The window is anchored at
the oldest finding in it: a third finding updates the same alert, and once
the oldest lapses a fresh pair opens a new one.

State per branch: the confirmed critical findings of the last ``window_s``
(deduplicated by alert id), dropped as they lapse.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

from detectors.base import Detector, Finding, State, Tier, register
from detectors.events import Event
from detectors.registry import iso_time

TYPOLOGY = "branch_accountability"
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class BranchAccountabilityConfig:
    window_s: float = 365 * DAY
    min_findings: int = 2
    #: Tier of the confirmed findings that count.
    counted_tier: str = Tier.CRITICAL.value
    tier: str = Tier.HIGH.value

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.min_findings < 1:
            raise ValueError("window_s must be positive and min_findings at least 1")
        Tier(self.counted_tier)
        Tier(self.tier)


# State (per branch): {"c": [[time, alert_id, typology, event_id], ...] sorted by time}
@register("branch_accountability")
class BranchAccountabilityDetector(Detector):
    """Two confirmed critical findings of one branch within a year.

    >>> d = BranchAccountabilityDetector(BranchAccountabilityConfig())
    >>> def confirmed(i, days, tier="critical"):
    ...     return Event(f"c{i}", "alert_confirmed", "complaint", days * DAY, branch_id="BR1", tier=tier,
    ...                  alert_id=f"AL{i}", typology="partner_barred_business")
    >>> state, found = d.observe(confirmed(1, 0), None)
    >>> state, found = d.observe(confirmed(2, 100, "high"), state)  # a high finding does not count
    >>> found
    []
    >>> state, found = d.observe(confirmed(3, 365), state)  # exactly a year after the first: within it
    >>> [(f.tier.value, f.entity_id, f.evidence["alert_ids"]) for f in found]
    [('high', 'BR1', ['AL1', 'AL3'])]
    """

    name = "branch_accountability"
    typology = TYPOLOGY
    version = "1"
    event_types = frozenset({"alert_confirmed"})
    keyspace = "branch"

    def __init__(self, config: BranchAccountabilityConfig) -> None:
        self.config = config

    def key(self, event: Event) -> str | None:
        if event.tier != self.config.counted_tier or event.alert_id is None:
            return None
        return event.branch_id

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        if self.key(event) is None:
            return state, []
        cfg = self.config
        state = state or {"c": []}
        found = state["c"]
        if any(item[1] == event.alert_id for item in found):
            return state, []  # the same alert confirmed twice (or redelivered)
        bisect.insort(found, [event.time, event.alert_id, event.typology or "", event.event_id])
        # The rolling year up to the branch's newest finding; a finding older than that is too late.
        newest = found[-1][0]
        state["c"] = within = [item for item in found if item[0] >= newest - cfg.window_s]
        if len(within) < cfg.min_findings or event.time < newest - cfg.window_s:
            return state, []
        first = within[0][0]
        return state, [Finding(
            detector=self.name,
            detector_version=self.version,
            typology=TYPOLOGY,
            tier=Tier(cfg.tier),
            tier_reason=(f"{len(within)} confirmed {cfg.counted_tier} findings within "
                         f"{cfg.window_s / DAY:.0f} days (at least {cfg.min_findings})"),
            entity_type="branch",
            entity_id=event.branch_id,
            window_start=first,
            event_time=event.time,
            score=float(len(within)),
            summary=(f"branch {event.branch_id}: {len(within)} confirmed {cfg.counted_tier} findings since "
                     f"{iso_time(first)}: " + ", ".join(f"{item[2]} ({item[1]})" for item in within)),
            evidence={
                "findings": [{"alert_id": item[1], "typology": item[2], "confirmed_at": iso_time(item[0])}
                             for item in within],
                "alert_ids": [item[1] for item in within],
                "window_days": cfg.window_s / DAY,
                "event_ids": [item[3] for item in within],
            },
            branch_id=event.branch_id,
        )]

    def advance(self, state: State, watermark: float) -> tuple[State, list[Finding]]:
        if not state:
            return None, []
        state["c"] = [item for item in state["c"] if item[0] >= watermark - self.config.window_s]
        return (state if state["c"] else None), []
