"""Claims service targets: late claims, and a region whose breach rate stands out.

Two service targets (both configurable), held by a claim from its
``claim_reported`` event:

* a small motor claim (``claim_type`` motor, claimed ``amount`` under 5,000
  CNY) is settled (``claim_settled``) within 30 minutes; otherwise
  ``claim_settlement_late``;
* an injury claim's customer is contacted (``claim_contacted``, or the
  settlement itself) within 72 hours; otherwise ``claim_contact_late``.

Both are absences on event-time timers (:mod:`detectors.absence`), kept per
policy with one episode per claim; the alert is on the policy, with the claim
id in the evidence. A claim settled at 29 minutes is in time; one settled at 31
minutes raises the alert when the settlement arrives, if the sweep has not.

``region_claims_outlier`` compares regions. Every claim held to a target is
*decided* when it meets the target (met) or its deadline passes (breach); per
region, decisions are counted in daily buckets over ``region_window_s``. A
region stands out when it has at least ``region_min_claims`` decided claims and
``region_min_breaches`` breaches, its breach rate is at least
``region_min_ratio`` times the reference, and the binomial tail probability of
so many breaches at the reference rate is below ``region_p_value``. The
reference is the median breach rate of the other regions with decided claims
(each shrunk towards ``region_prior_rate``, so a region with two claims and no
breach does not count as a perfect 0%), or the prior itself while fewer than
``region_min_regions`` other regions have data: the median, so that two bad
regions do not hide each other. To compare regions the detector needs all of
them in one state: it keeps the whole claims book under one key (claims are
few next to sales and payments), with only the claims still inside their
deadline, the decided ones for two days (duplicates) and the counts.
A region is flagged once when it comes to stand out (the alert's window is the
``region_window_s`` bucket of that moment) and re-armed once it is back in
line, so a later episode is a new alert.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detectors.absence import DAY, HOUR, DeadlineDetector, Opening, event_ids
from detectors.base import Detector, Finding, State, Tier, register
from detectors.events import Event
from detectors.stats import binomial_sf

SETTLEMENT = "settlement"
CONTACT = "contact"
#: The claim type each target applies to, and the events that meet it.
TARGET_CLAIM_TYPE = {SETTLEMENT: "motor", CONTACT: "injury"}
MEETING_EVENTS = {SETTLEMENT: frozenset({"claim_settled"}), CONTACT: frozenset({"claim_contacted", "claim_settled"})}
CLAIM_EVENTS = frozenset({"claim_reported", "claim_contacted", "claim_settled"})
#: The key under which the region comparison keeps the whole claims book.
BOOK = "all"
#: How long the book remembers a decided claim (duplicates) and a settlement seen before its report:
#: shorter than ``retention_s``, since one state holds every region's claims.
BOOK_MEMORY_S = 2 * DAY
MINUTE = 60.0


@dataclass(frozen=True, slots=True)
class ClaimServiceConfig:
    #: Motor claims under this amount (CNY, as claimed) are "small".
    small_motor_cny: float = 5_000.0
    motor_settlement_s: float = 30 * MINUTE
    injury_contact_s: float = 72 * HOUR
    settlement_tier: str = Tier.MEDIUM.value
    contact_tier: str = Tier.MEDIUM.value
    #: How long a decided claim is remembered (duplicate deliveries, a settlement before its report).
    retention_s: float = 7 * DAY
    region_window_s: float = 7 * DAY
    region_min_claims: int = 8
    region_min_breaches: int = 4
    region_min_ratio: float = 2.0
    region_p_value: float = 1e-4
    #: Breach rate a region is pulled towards, and its weight in claims.
    region_prior_rate: float = 0.03
    region_prior_weight: float = 20.0
    region_min_regions: int = 3
    region_tier: str = Tier.MEDIUM.value

    def __post_init__(self) -> None:
        if min(self.small_motor_cny, self.motor_settlement_s, self.injury_contact_s, self.retention_s,
               self.region_window_s, self.region_prior_weight) <= 0:
            raise ValueError("amounts, deadlines, windows and the prior weight must be positive")
        if self.region_min_claims < 1 or self.region_min_breaches < 1 or self.region_min_regions < 1:
            raise ValueError("region_min_claims, region_min_breaches and region_min_regions must be at least 1")
        if not 0 < self.region_p_value < 1 or not 0 < self.region_prior_rate < 1 or self.region_min_ratio < 1:
            raise ValueError("region_p_value and region_prior_rate must be in (0, 1), region_min_ratio at least 1")
        for tier in (self.settlement_tier, self.contact_tier, self.region_tier):
            Tier(tier)


def service_target(event: Event, config: ClaimServiceConfig) -> tuple[str, float] | None:
    """The target a reported claim is held to and its deadline (seconds), or None."""
    if event.claim_type == "motor" and event.amount is not None and event.amount < config.small_motor_cny:
        return SETTLEMENT, config.motor_settlement_s
    if event.claim_type == "injury":
        return CONTACT, config.injury_contact_s
    return None


def target_met_by(event: Event) -> str | None:
    """The target ``event`` meets for its claim (if the claim is held to it), or None."""
    for target, claim_type in TARGET_CLAIM_TYPE.items():
        if event.claim_type == claim_type and event.event_type in MEETING_EVENTS[target]:
            return target
    return None


class ClaimTargetDetector(DeadlineDetector):
    """One service target's timers, per policy (one episode per claim)."""

    version = "1"
    event_types = CLAIM_EVENTS
    keyspace = "policy"
    target: str

    def key(self, event: Event) -> str | None:
        return event.policy_id if event.claim_type == TARGET_CLAIM_TYPE[self.target] else None

    def opening(self, event: Event) -> Opening | None:
        if event.event_type != "claim_reported" or event.claim_id is None:
            return None
        held = service_target(event, self.config)
        if held is None or held[0] != self.target:
            return None
        return Opening(event.claim_id, held[1], {
            "claim_id": event.claim_id, "claim_type": event.claim_type, "region": event.region,
            "amount_cny": event.amount, "branch_id": event.branch_id, "partner_id": event.partner_id})

    def closing(self, event: Event) -> str | None:
        return event.claim_id if target_met_by(event) == self.target else None

    def overdue(self, entity: str, episode_id: str, episode: dict, event_time: float,
                trigger: Event | None) -> Finding:
        info = episode["x"]
        limit = episode["d"] - episode["o"]
        done = episode["c"]
        verb = "settled" if self.target == SETTLEMENT else "contacted"
        unit, scale = ("min", MINUTE) if limit < 2 * HOUR else ("h", HOUR)
        what = f"{verb} after {(done - episode['o']) / scale:.0f} {unit}" if done is not None else f"not {verb}"
        return Finding(
            detector=self.name,
            detector_version=self.version,
            typology=self.typology,
            tier=Tier(self.tier),
            tier_reason=f"{info.get('claim_type')} claim not {verb} within {limit / scale:.0f} {unit}",
            entity_type="policy",
            entity_id=entity,
            window_start=episode["o"],
            event_time=event_time,
            score=round(max(event_time - episode["o"], 0.0) / limit, 4),
            summary=f"policy {entity}, claim {episode_id} ({info.get('claim_type')}, region {info.get('region')}): "
                    f"{what}; target {limit / scale:.0f} {unit}",
            evidence={"reported_at": episode["o"], "deadline": episode["d"], f"{verb}_at": done,
                      "target_s": limit, **info, "event_ids": event_ids(episode, trigger)},
            branch_id=info.get("branch_id"),
            partner_id=info.get("partner_id"),
        )

    @property
    def tier(self) -> str:
        return self.config.settlement_tier if self.target == SETTLEMENT else self.config.contact_tier


@register("claims_service")
class ClaimSettlementDetector(ClaimTargetDetector):
    """Small motor claims not settled within ``motor_settlement_s`` (30 min).

    >>> from detectors.events import Event
    >>> d = ClaimSettlementDetector(ClaimServiceConfig())
    >>> def claim(i, kind, minutes):
    ...     return Event(f"e{i}", kind, "policy", minutes * 60.0, policy_id="P1", claim_id="CL1",
    ...                  claim_type="motor", region="GD", amount=3_200.0)
    >>> state, _ = d.observe(claim(1, "claim_reported", 0), None)
    >>> state, found = d.observe(claim(2, "claim_settled", 29), state)
    >>> found
    []
    >>> state, _ = d.observe(claim(1, "claim_reported", 0), None)
    >>> state, found = d.observe(claim(2, "claim_settled", 31), state)
    >>> found[0].typology, found[0].summary
    ('claim_settlement_late', 'policy P1, claim CL1 (motor, region GD): settled after 31 min; target 30 min')
    """

    name = "claim_settlement"
    target = SETTLEMENT
    typology = "claim_settlement_late"


@register("claims_service")
class ClaimContactDetector(ClaimTargetDetector):
    """Injury claims whose customer is not contacted within ``injury_contact_s`` (72 h).

    >>> from detectors.events import Event
    >>> d = ClaimContactDetector(ClaimServiceConfig())
    >>> reported = Event("e1", "claim_reported", "policy", 0.0, policy_id="P1", claim_id="CL1",
    ...                  claim_type="injury", region="GD", amount=30_000.0)
    >>> state, _ = d.observe(reported, None)
    >>> state, found = d.advance(state, 72 * 3600.0)
    >>> found[0].typology, found[0].event_time
    ('claim_contact_late', 259200.0)
    """

    name = "claim_contact"
    target = CONTACT
    typology = "claim_contact_late"


# State (one, under BOOK): {"o": {claim id: [deadline, region, opening event id, target]} claims inside
#   their deadline, "p": {claim id: [time, event id]} meeting events seen before their claim's report,
#   "d": {claim id: decision time} decided claims, "b": {region: [[day, decided, breaches, [breach
#   event ids]], ...]}, "r": {region: window_start of its alert, while it stands out}}
@register("claims_service")
class RegionClaimsOutlierDetector(Detector):
    """Flags a region whose claims breach their service targets far more often
    than the other regions' do; one state for the whole claims book.

    >>> from detectors.events import Event
    >>> d = RegionClaimsOutlierDetector(ClaimServiceConfig())
    >>> state, found, t = None, [], 0.0
    >>> for i in range(8):  # 8 small motor claims in GD, 5 settled after 40 minutes
    ...     for kind, minutes in (("claim_reported", 0), ("claim_settled", 40 if i < 5 else 10)):
    ...         e = Event(f"e{i}{kind}", kind, "policy", t + minutes * 60, policy_id=f"P{i}", claim_id=f"C{i}",
    ...                   claim_type="motor", region="GD", amount=2_000.0)
    ...         state, found = d.observe(e, state)
    ...         if found: break
    ...     t += 3600.0
    >>> found[0].entity_id, found[0].evidence["breaches"], found[0].evidence["claims"]
    ('GD', 5, 8)
    """

    name = "region_claims_outlier"
    version = "1"
    event_types = CLAIM_EVENTS
    keyspace = "claims_book"
    finding_entity = "region"
    typology = "region_claims_outlier"

    def __init__(self, config: ClaimServiceConfig) -> None:
        self.config = config

    def key(self, event: Event) -> str | None:
        return BOOK if event.claim_type in TARGET_CLAIM_TYPE.values() and event.claim_id else None

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        claim = event.claim_id
        held = service_target(event, self.config) if event.event_type == "claim_reported" else None
        met = target_met_by(event)
        if claim is None or (held is None and met is None):
            return state, []
        state = state or {"o": {}, "p": {}, "d": {}, "b": {}, "r": {}}
        if claim in state["d"]:
            return state, []  # decided already: a duplicate, or the late settlement of a breach
        if held is not None:
            if claim in state["o"]:
                return state, []
            deadline = event.time + held[1]
            early = state["p"].pop(claim, None)
            if early is None:
                state["o"][claim] = [deadline, event.region or "unknown", event.event_id, held[0]]
                return state, []
            breach = early[0] > deadline
            return state, self._decide(state, claim, event.region or "unknown", early[0] if not breach else deadline,
                                       breach, event.event_id, event)
        opened = state["o"].get(claim)
        if opened is None:
            if claim not in state["p"] or event.time < state["p"][claim][0]:
                state["p"][claim] = [event.time, event.event_id]
            return state, []
        if met != opened[3]:
            return state, []
        del state["o"][claim]
        breach = event.time > opened[0]
        return state, self._decide(state, claim, opened[1], opened[0] if breach else event.time, breach,
                                   opened[2], event)

    def advance(self, state: State, watermark: float) -> tuple[State, list[Finding]]:
        if not state:
            return None, []
        findings = []
        for claim, (deadline, region, opening_id, _target) in sorted(state["o"].items(), key=lambda kv: kv[1][0]):
            if watermark >= deadline:
                del state["o"][claim]
                findings += self._decide(state, claim, region, deadline, True, opening_id, None)
        cfg = self.config
        horizon = watermark - BOOK_MEMORY_S
        state["p"] = {c: v for c, v in state["p"].items() if v[0] >= horizon}
        state["d"] = {c: t for c, t in state["d"].items() if t >= horizon}
        first_day = watermark - cfg.region_window_s - DAY
        state["b"] = {r: kept for r, buckets in state["b"].items() if (kept := [b for b in buckets if b[0] >= first_day])}
        state["r"] = {r: w for r, w in state["r"].items() if self.assess(state, r, watermark) is not None}
        if not any(state[k] for k in ("o", "p", "d", "b", "r")):
            return None, findings
        return state, findings

    def _decide(self, state: dict, claim: str, region: str, at: float, breach: bool, opening_id: str,
                trigger: Event | None) -> list[Finding]:
        """Count one decided claim for ``region`` at event time ``at``, and judge the region."""
        state["d"][claim] = at
        day = (at // DAY) * DAY
        buckets = state["b"].setdefault(region, [])
        bucket = next((b for b in buckets if b[0] == day), None)
        if bucket is None:
            bucket = [day, 0, 0, []]
            buckets.append(bucket)
            buckets.sort(key=lambda b: b[0])
        bucket[1] += 1
        if breach:
            bucket[2] += 1
            bucket[3] = (bucket[3] + [opening_id])[-20:]  # a sample of the evidence, bounded
        return self._judge(state, region, trigger.time if trigger is not None else at, trigger)

    def _counts(self, state: dict, now: float) -> dict[str, tuple[int, int, list[str]]]:
        since = now - self.config.region_window_s
        out = {}
        for region, buckets in state["b"].items():
            inside = [b for b in buckets if since < b[0] + DAY and b[0] <= now]
            if inside:
                out[region] = (sum(b[1] for b in inside), sum(b[2] for b in inside),
                               [i for b in inside for i in b[3]])
        return out

    def reference_rate(self, counts: dict[str, tuple[int, int, list[str]]], region: str) -> tuple[float, int]:
        """The breach rate ``region`` is compared with, and how many other regions it comes from."""
        cfg = self.config
        a = cfg.region_prior_rate * cfg.region_prior_weight
        others = np.array([(k + a) / (n + cfg.region_prior_weight)
                           for r, (n, k, _) in sorted(counts.items()) if r != region and n > 0])
        if len(others) < cfg.region_min_regions:
            return cfg.region_prior_rate, len(others)
        return float(np.median(others)), len(others)

    def assess(self, state: dict, region: str, now: float) -> tuple | None:
        """(claims, breaches, breach event ids, rate, reference, other regions, p) when
        ``region`` stands out at ``now``, else None."""
        cfg = self.config
        counts = self._counts(state, now)
        claims, breaches, ids = counts.get(region, (0, 0, []))
        if claims < cfg.region_min_claims or breaches < cfg.region_min_breaches:
            return None
        reference, regions = self.reference_rate(counts, region)
        rate = breaches / claims
        if rate < cfg.region_min_ratio * reference:
            return None
        tail = binomial_sf(breaches, claims, reference)
        if tail >= cfg.region_p_value:
            return None
        return claims, breaches, ids, rate, reference, regions, tail

    def _judge(self, state: dict, region: str, now: float, trigger: Event | None) -> list[Finding]:
        cfg = self.config
        assessed = self.assess(state, region, now)
        if assessed is None:
            state["r"].pop(region, None)  # in line (again): its next breach of the norm is a new alert
            return []
        if region in state["r"]:
            return []  # flagged already, and still out of line
        claims, breaches, ids, rate, reference, regions, tail = assessed
        window_start = (now // cfg.region_window_s) * cfg.region_window_s
        state["r"][region] = window_start
        days = cfg.region_window_s / DAY
        evidence_ids = list(ids)
        if trigger is not None and trigger.event_id not in evidence_ids:
            evidence_ids.append(trigger.event_id)
        return [Finding(
            detector=self.name,
            detector_version=self.version,
            typology=self.typology,
            tier=Tier(cfg.region_tier),
            tier_reason=f"breach rate {rate:.0%} against {reference:.1%} in the other regions",
            entity_type="region",
            entity_id=region,
            window_start=window_start,
            event_time=now,
            score=round(rate / reference, 3),
            summary=f"region {region}: {breaches} of {claims} claims missed their service target within "
                    f"{days:.0f} days ({rate:.0%}; other regions {reference:.1%}, p={tail:.1e})",
            evidence={"claims": claims, "breaches": breaches, "breach_rate": round(rate, 4),
                      "reference_rate": round(reference, 4), "other_regions": regions, "p_value": tail,
                      "window_s": cfg.region_window_s, "event_ids": evidence_ids},
        )]
