"""Partner scorecard outliers: a partner out of line with the partners of its own type.

Four rates per partner over a rolling ``window_s`` (30 days) of event time,
each a detector of its own, against the other partners of the same partner
type (agency, bancassurance, claims adjuster, call centre: the registry's
``partner_type``, read from ``Event.partner``):

=====================================  ==========================================  =================================
typology                               counted                                     per (exposure)
=====================================  ==========================================  =================================
``partner_outlier_processing_time``    tasks done later than the contract's        tasks done with a target
                                       target for the task type (``sale_recorded``
                                       to ``policy_issued``; ``claim_reported`` to
                                       ``claim_settled``)
``partner_outlier_complaints``         ``complaint_filed`` (shown per thousand)    policy sold (``sale_recorded``)
``partner_outlier_loss_ratio``         CNY of ``claim_payout``                     CNY of ``premium_paid`` and
                                                                                   ``claim_payout`` (see the class)
``partner_outlier_cooling_off``        ``cooling_off_cancelled``                   policy sold
=====================================  ==========================================  =================================

The test is the agent peer comparison's, from the same core
(:func:`detectors.stats.peer_outlier`): the peer rate pooled over the other
partners of the type not flagged in the window (each counting at most as
many events as its exposure), shrunk towards a company prior; a one-sided
beta-binomial tail below ``p_value`` with at least ``min_events`` events,
``min_exposure`` exposure and twice the peer rate. ``min_exposure`` is 30,
not the agent test's 10: a partner is a company, and a rate over a handful of
policies says more about one of its agents (whom the agent test judges) than
about the partner; its scorecard is judged on a month's volume, at least 30
policies, tasks or units of money. Money is counted in units
of ``money_unit_cny`` (10,000 CNY, about a claim): ``k`` units of claims paid
in ``n`` units of premium and claims. A unit that large keeps the test from treating each
yuan as an independent trial, but one very large claim can still decide a
small partner's loss ratio: ``min_events`` (3 units of claims) and
``min_exposure`` (30 units, 300,000 CNY of premium and claims) bound that.

Tier ``medium``; ``high`` below ``high_p_value``; a partner is flagged at
most once per window and rate. State is kept per partner type: per partner
the window's counted and exposure items (time, event id, weight), the flags,
and for the processing time the tasks still open.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import ClassVar

from detectors.base import Detector, Finding, State, Tier, register
from detectors.events import Event
from detectors.peer_groups import check_settings, evict, flag
from detectors.stats import peer_outlier

DAY = 86_400.0

#: task type -> (opening event type, closing event type, the event field naming the task)
TASKS = {
    "policy_issuance": ("sale_recorded", "policy_issued", "policy_id"),
    "claim_settlement": ("claim_reported", "claim_settled", "claim_id"),
}


@dataclass(frozen=True, slots=True)
class PartnerPeerConfig:
    window_s: float = 30 * DAY
    p_value: float = 1e-4
    high_p_value: float = 1e-8
    min_events: int = 3
    min_exposure: int = 30
    min_rate_ratio: float = 2.0
    prior_weight: float = 200.0
    concentration: float = 100.0
    #: Company-wide rates a risk team expects: tasks over target per task, complaints and
    #: cooling-off cancellations per policy sold, claims paid per premium.
    prior_late_task_rate: float = 0.05
    prior_complaint_rate: float = 0.02
    prior_cooling_off_rate: float = 0.03
    #: Claims' share of premium and claims together (0.3: a loss ratio of 0.43).
    prior_claims_share: float = 0.3
    #: Money is counted in units of this many CNY.
    money_unit_cny: float = 10_000.0
    #: Units one payment counts at most: the test takes units for independent trials, and one
    #: large claim is one event, not fifteen (uncapped, one 150,000 CNY claim decides a partner's day).
    max_payment_units: float = 5.0
    tier: str = Tier.MEDIUM.value
    high_tier: str = Tier.HIGH.value

    def __post_init__(self) -> None:
        check_settings(self, (self.prior_late_task_rate, self.prior_complaint_rate, self.prior_cooling_off_rate,
                              self.prior_claims_share))
        if self.money_unit_cny <= 0 or self.max_payment_units <= 0:
            raise ValueError("money_unit_cny and max_payment_units must be positive")


# State (per partner type): {"p": {partner: {"x": [[time, event_id, weight], ...] counted, sorted,
#                                            "n": [[time, event_id, weight], ...] exposure, sorted}},
#                            "f": {partner: [window_start, until, high]}, "l": newest event time,
#                            "o": {"<task type>|<task id>": [opened at, partner]} (processing time only)}
def _with(event_id: str, event_ids: list[str]) -> list[str]:
    return event_ids if event_id in event_ids else [*event_ids, event_id]


class PartnerPeerDetector(Detector):
    """One rate of every partner of a type against the type's other partners (subclasses name it)."""

    version = "1"
    keyspace = "partner_type"
    finding_entity = "partner"
    typology: ClassVar[str]
    metric: ClassVar[str]
    prior_field: ClassVar[str]
    #: What one unit of exposure is, for people.
    per: ClassVar[str] = "policies sold"
    #: The rate is shown per this many units of exposure (1000: per thousand policies).
    shown_per: ClassVar[float] = 1.0

    def __init__(self, config: PartnerPeerConfig) -> None:
        self.config = config
        self.prior_rate: float = getattr(config, self.prior_field)

    def key(self, event: Event) -> str | None:
        if event.partner is None or event.partner_id is None:
            return None
        return event.partner.partner_type

    def measure(self, event: Event, state: dict) -> tuple[float, float, float, str]:
        """``(counted, exposure, time, event id)``: the weights this event adds for its
        partner (0: none), at the time and under the id of the event that completes the
        measurement (a task's closing event, whichever of its two events came last)."""
        raise NotImplementedError

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        if self.key(event) is None:
            return state, []
        window = self.config.window_s
        state = state or {"p": {}, "f": {}, "l": event.time}
        if event.time < state["l"] - window:
            return state, []  # older than the window: too late to count
        record = state["p"].get(event.partner_id, {"n": [], "x": []})
        if any(item[1] == event.event_id for item in record["x"] + record["n"]):
            return state, []  # duplicate delivery
        counted, exposure, at, item = self.measure(event, state)
        state["l"] = max(state["l"], event.time)
        if counted or exposure:
            state["p"][event.partner_id] = record
            if counted:
                bisect.insort(record["x"], [at, item, counted])
            if exposure:
                bisect.insort(record["n"], [at, item, exposure])
        self._evict(state, state["l"])
        if not (counted or exposure) or event.partner_id not in state["p"]:
            return state, []
        return state, self._test(state, event)

    def describe(self, record: dict) -> dict:
        """Figures of the partner's own beyond the tested rate, for the evidence."""
        return {}

    def _units(self, items: list) -> float:
        return sum(item[2] for item in items)

    def _test(self, state: dict, event: Event) -> list[Finding]:
        cfg = self.config
        partner = event.partner_id
        record = state["p"][partner]
        flagged = state["f"].get(partner)
        if not record["x"] or (flagged and flagged[2]):
            return []
        events, exposure = round(self._units(record["x"])), round(self._units(record["n"]))
        peer_events = peer_exposure = 0.0
        peers = 0
        for other, items in state["p"].items():
            if other == partner or other in state["f"]:
                continue
            peers += 1
            x, n = self._units(items["x"]), self._units(items["n"])
            peer_events += min(x, n)
            peer_exposure += n
        hit = peer_outlier(events, exposure, peer_events, peer_exposure, self.prior_rate, cfg)
        if hit is None:
            return []
        window_start = flag(state["f"], partner, hit.high, record["x"][0][0], event.time, cfg.window_s)
        if window_start is None:
            return []  # flagged already in this window, at this tier
        shown, peer_shown = hit.rate * self.shown_per, hit.peer_rate * self.shown_per
        unit = "" if self.shown_per == 1 else f" per {self.shown_per:g}"
        return [Finding(
            detector=self.name,
            detector_version=self.version,
            typology=self.typology,
            tier=Tier(cfg.high_tier if hit.high else cfg.tier),
            tier_reason=(f"{self.metric} {shown:.3g}{unit} against {peer_shown:.3g} for peers, p={hit.p_value:.1e}"
                         + (f" (below {cfg.high_p_value:g})" if hit.high else "")),
            entity_type="partner",
            entity_id=partner,
            window_start=window_start,
            event_time=event.time,
            score=hit.rate / hit.peer_rate,
            summary=(f"partner {partner} ({event.partner.partner_type}): {self.metric} {shown:.3g}{unit} "
                     f"({hit.events} in {hit.exposure} {self.per}) within {cfg.window_s / DAY:.0f} days, against "
                     f"{peer_shown:.3g} for {peers} partners of its type (p={hit.p_value:.1e})"),
            evidence={
                "metric": self.metric,
                "partner_type": event.partner.partner_type,
                "events": hit.events,
                "exposure": hit.exposure,
                "per": self.per,
                "rate": round(hit.rate, 4),
                "peer_partners": peers,
                "peer_events": round(peer_events, 2),
                "peer_exposure": round(peer_exposure, 2),
                "peer_rate": round(hit.peer_rate, 6),
                "prior_rate": self.prior_rate,
                "p_value": hit.p_value,
                "window_days": cfg.window_s / DAY,
                **self.describe(record),
                "event_ids": _with(event.event_id, [item[1] for item in record["x"]][-50:]),
            },
            branch_id=event.partner.branch_id,
            partner_id=partner,
        )]

    def _evict(self, state: dict, now: float) -> None:
        horizon = now - self.config.window_s
        evict(state["p"], state["f"], horizon, now)
        opened = state.get("o")
        if opened:
            for task in [t for t, times in opened.items() if max(x for x in times[:2] if x is not None) < horizon]:
                del opened[task]

    def advance(self, state: State, watermark: float) -> tuple[State, list[Finding]]:
        if not state:
            return None, []
        self._evict(state, max(watermark, state["l"]))
        if not state["p"] and not state["f"] and not state.get("o"):
            return None, []
        return state, []


@register("partner_peers")
class PartnerProcessingTimeOutlier(PartnerPeerDetector):
    """Tasks done later than the partner's contracted target, per task done with a target.

    >>> from detectors.registry import PartnerStanding
    >>> d = PartnerProcessingTimeOutlier(PartnerPeerConfig())
    >>> agency = PartnerStanding("agency", "BR1", "active", processing_targets_s={"policy_issuance": 86400.0})
    >>> sold = Event("s1", "sale_recorded", "policy", 0.0, policy_id="P1", partner_id="PT1", partner=agency)
    >>> issued = Event("i1", "policy_issued", "policy", 90000.0, policy_id="P1", partner_id="PT1", partner=agency)
    >>> state, _ = d.observe(sold, None)
    >>> state, _ = d.observe(issued, state)
    >>> state["p"]["PT1"]["x"], state["o"]
    ([[90000.0, 'i1', 1]], {})
    >>> state, _ = d.observe(issued, None)  # the issue first, then the sale: the same measurement
    >>> state, _ = d.observe(sold, state)
    >>> state["p"]["PT1"]["x"]
    [[90000.0, 'i1', 1]]
    """

    name = "partner_peers_processing_time"
    typology = "partner_outlier_processing_time"
    metric = "tasks over contracted processing time"
    prior_field = "prior_late_task_rate"
    per = "tasks"
    event_types = frozenset(kind for opening, closing, _ in TASKS.values() for kind in (opening, closing))

    def measure(self, event: Event, state: dict) -> tuple[float, float, float, str]:
        none = (0, 0, event.time, event.event_id)
        for task_type, (opening, closing, field) in TASKS.items():
            task_id = getattr(event, field)
            if task_id is None or event.event_type not in (opening, closing):
                continue
            # Either event may come first: keep the first one's [opened, closed, close id] until the other comes.
            task = state.setdefault("o", {}).setdefault(f"{task_type}|{task_id}|{event.partner_id}",
                                                         [None, None, None])
            if event.event_type == opening:
                task[0] = event.time if task[0] is None else task[0]
            elif task[1] is None:
                task[1], task[2] = event.time, event.event_id
            if task[0] is None or task[1] is None:
                return none
            del state["o"][f"{task_type}|{task_id}|{event.partner_id}"]
            target = event.partner.processing_targets_s.get(task_type)
            if target is None:
                return none
            return (1 if task[1] - task[0] > target else 0), 1, task[1], task[2]
        return none


class PartnerPerPolicyOutlier(PartnerPeerDetector):
    """Events of one type (``counted_type``) per policy sold (subclasses name the type)."""

    counted_type: ClassVar[str]

    def measure(self, event: Event, state: dict) -> tuple[float, float, float, str]:
        counted = event.event_type == self.counted_type
        return (1 if counted else 0), (0 if counted else 1), event.time, event.event_id


@register("partner_peers")
class PartnerComplaintOutlier(PartnerPerPolicyOutlier):
    """Complaints per thousand policies sold, against the partners of the same type."""

    name = "partner_peers_complaints"
    typology = "partner_outlier_complaints"
    metric = "complaints"
    prior_field = "prior_complaint_rate"
    shown_per = 1000.0
    counted_type = "complaint_filed"
    event_types = frozenset({counted_type, "sale_recorded"})


@register("partner_peers")
class PartnerCoolingOffOutlier(PartnerPerPolicyOutlier):
    """Cooling-off cancellations per policy sold, against the partners of the same type."""

    name = "partner_peers_cooling_off"
    typology = "partner_outlier_cooling_off"
    metric = "cooling-off cancellation rate"
    prior_field = "prior_cooling_off_rate"
    counted_type = "cooling_off_cancelled"
    event_types = frozenset({counted_type, "sale_recorded"})


@register("partner_peers")
class PartnerLossRatioOutlier(PartnerPeerDetector):
    """The loss ratio (claims paid over premium received), against the partners of the same type.

    A loss ratio can pass 1, a proportion cannot, so the test runs on the
    claims' share of the partner's money flow, ``claims / (claims + premium)``
    (in units of ``money_unit_cny``): it grows with the loss ratio, and a
    share twice the peers' is a loss ratio far above theirs (peers at 0.43, a
    share of 0.3, against 0.6 and more, a loss ratio of 1.5 and more). The
    evidence gives the loss ratio itself too.
    """

    name = "partner_peers_loss_ratio"
    typology = "partner_outlier_loss_ratio"
    metric = "claims share of premium and claims"
    prior_field = "prior_claims_share"
    per = "units of premium and claims"
    event_types = frozenset({"claim_payout", "premium_paid"})

    def measure(self, event: Event, state: dict) -> tuple[float, float, float, str]:
        units = min((event.amount or 0.0) / self.config.money_unit_cny, self.config.max_payment_units)
        claim = event.event_type == "claim_payout"
        return (units if claim else 0.0), units, event.time, event.event_id

    def describe(self, record: dict) -> dict:
        claims, flow = self._units(record["x"]), self._units(record["n"])
        unit = self.config.money_unit_cny
        return {"claims_paid_cny": round(claims * unit, 2), "premium_cny": round((flow - claims) * unit, 2),
                "loss_ratio": round(claims / (flow - claims), 3) if flow > claims else None}
