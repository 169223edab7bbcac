"""How the insurer's service desks handle ordinary business: claims.

Used by the background (``background.py``) and by the service scenarios
(``service.py``), so an injected claim looks like an ordinary one. The claims
desk meets its service targets (``detectors/claims_service.py``) almost
always: a small motor claim (under 5,000 CNY) is settled on the fast track
within 5 to 25 minutes, an injury claim's customer is called within 1 to 30
hours (in office hours). A small share misses them
(:data:`SETTLEMENT_BREACH_RATE`, :data:`CONTACT_BREACH_RATE`), evenly across
regions, and only where the deadline passes well inside the timeline, so each
miss raises an alert before the run ends; those alerts are labelled like any
other fact of the generated data (``labels.py``).
"""
from __future__ import annotations

from random import Random

from detectors.claims_service import ClaimServiceConfig
from streams.generator import feed
from streams.generator.model import EventLog
from streams.generator.population import Policy, Population
from streams.generator.timeline import DAY_MS, HOUR_MS, Timeline

MINUTE_MS = 60_000
TARGETS = ClaimServiceConfig()
SMALL_MOTOR_CNY = TARGETS.small_motor_cny
SETTLEMENT_MS = round(TARGETS.motor_settlement_s * 1000)
CONTACT_MS = round(TARGETS.injury_contact_s * 1000)
SETTLEMENT_BREACH_RATE = 0.02
CONTACT_BREACH_RATE = 0.02
#: A deadline at least this far before the end of the timeline has surely been swept (hourly) in the run.
DECIDED_MARGIN_MS = 3 * HOUR_MS
#: Claim types by product category: (claim type, weight).
CLAIM_TYPES_OF_CATEGORY = {
    "motor": (("motor", 0.85), ("injury", 0.15)),
    "protection": (("injury", 0.5), ("health", 0.5)),
    "health": (("health", 1.0),),
}


def claim_type_for(rng: Random, category: str) -> str:
    kinds = CLAIM_TYPES_OF_CATEGORY[category]
    return rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]


def handle_claim(log: EventLog, rng: Random, timeline: Timeline, pop: Population, policy: Policy, amount: float,
                 ) -> int | None:
    """One ordinary claim of ``amount`` CNY on ``policy``; returns the time it is
    settled (epoch ms) if that is inside the timeline, for the payout.

    Half the claims settled in the run were reported before it (only their
    settlement is in the extract); the others are reported in office hours.
    """
    pop_category = pop.products[policy.product].category
    kind = claim_type_for(rng, pop_category)
    claim_id = pop.ids.claim_id()
    end = timeline.end_ms
    if rng.random() < 0.5:  # reported days ago; settled today
        settled = timeline.sample(rng, "service")
        feed.claim(log, settled, pop, policy, "claim_settled", claim_id, kind, amount)
        return settled
    reported = timeline.sample(rng, "service")
    feed.claim(log, reported, pop, policy, "claim_reported", claim_id, kind, amount)
    decided = reported + (SETTLEMENT_MS if kind == "motor" else CONTACT_MS) < end - DECIDED_MARGIN_MS
    if kind == "motor" and amount < SMALL_MOTOR_CNY:
        if decided and rng.random() < SETTLEMENT_BREACH_RATE:
            settled = reported + SETTLEMENT_MS + rng.randint(5, 120) * MINUTE_MS
        else:
            settled = reported + rng.randint(5, 25) * MINUTE_MS
    elif kind == "injury":
        if decided and rng.random() < CONTACT_BREACH_RATE:
            contacted = reported + CONTACT_MS + rng.randint(1, 24) * HOUR_MS
        else:
            contacted = timeline.next_open(rng, "service", reported + rng.randint(60, 30 * 60) * MINUTE_MS)
        if contacted < end:
            feed.claim(log, contacted, pop, policy, "claim_contacted", claim_id, kind)
        settled = timeline.next_open(rng, "service", contacted + rng.randint(2, 20) * DAY_MS)
    else:  # a larger motor claim, or health: assessed first
        settled = timeline.next_open(rng, "service", reported + rng.randint(2 * 60, 10 * 24 * 60) * MINUTE_MS)
    if settled >= end:
        return None
    feed.claim(log, settled, pop, policy, "claim_settled", claim_id, kind, amount)
    return settled
