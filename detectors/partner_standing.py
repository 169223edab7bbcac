"""Business through a partner that may not do business, by the partner registry.

The engine attaches to every event that names a partner how the partner stood
in the registry at the event's time (``Event.partner``, see
:mod:`detectors.registry`). Two stateless rules read it, on the partner's
business: a policy sold (``sale_recorded``, ``policy_issued``), a claim handled
(``claim_reported``, ``claim_contacted``, ``claim_settled``) or a payment routed
(``premium_paid``, ``refund``, ``surrender_payout``, ``claim_payout``):

* ``partner_barred_business`` (``critical``): the partner's status at the
  event's time is ``suspended``, ``blacklisted`` or ``terminated``. A status
  takes effect at its effective time: business before it is not flagged,
  business at or after it is.
* ``partner_qualification_expired`` (``high``): the partner is not barred, but
  the event is after its ``qualification_valid_until``.

Both are on the partner, with the window anchored at the effective time of
the status (at the expiry of the qualification): all the business of one
barring is one alert whose count grows, and a partner barred a second time
raises a new alert. The evidence names the status, its reason and effective
time, and the event, policy and agent behind the finding.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from detectors.base import Detector, Finding, State, Tier, register
from detectors.events import Event
from detectors.registry import PartnerStanding, iso_time

#: The events that are business through a partner.
BUSINESS_EVENTS = frozenset({"sale_recorded", "policy_issued", "claim_reported", "claim_contacted", "claim_settled",
                             "premium_paid", "refund", "surrender_payout", "claim_payout"})


@dataclass(frozen=True, slots=True)
class PartnerStandingConfig:
    barred_tier: str = Tier.CRITICAL.value
    expired_tier: str = Tier.HIGH.value

    def __post_init__(self) -> None:
        Tier(self.barred_tier)
        Tier(self.expired_tier)


class PartnerStandingRule(Detector):
    """One registry rule on the partner's business (subclasses say which)."""

    version = "1"
    event_types = BUSINESS_EVENTS
    keyspace = None
    typology: ClassVar[str]

    def __init__(self, config: PartnerStandingConfig) -> None:
        self.config = config

    def key(self, event: Event) -> str | None:
        return event.partner_id

    def breach(self, standing: PartnerStanding, at: float) -> tuple[Tier, float, str, dict] | None:
        """``(tier, window start, tier reason, evidence)`` when the business breaks the rule."""
        raise NotImplementedError

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        standing = event.partner
        if standing is None or event.partner_id is None:
            return None, []
        found = self.breach(standing, event.time)
        if found is None:
            return None, []
        tier, since, reason, evidence = found
        return None, [Finding(
            detector=self.name,
            detector_version=self.version,
            typology=self.typology,
            tier=tier,
            tier_reason=reason,
            entity_type="partner",
            entity_id=event.partner_id,
            window_start=since,
            event_time=event.time,
            score=1.0,
            summary=(f"partner {event.partner_id} ({standing.partner_type}, branch {standing.branch_id}): "
                     f"{event.event_type} of policy {event.policy_id} at {iso_time(event.time)}, {reason}"),
            evidence={**evidence, "partner_type": standing.partner_type, "event_type": event.event_type,
                      "policy_id": event.policy_id, "agent_id": event.agent_id, "claim_id": event.claim_id,
                      "event_ids": [event.event_id]},
            branch_id=event.branch_id or standing.branch_id,
            partner_id=event.partner_id,
        )]


@register("partner_standing")
class BarredPartnerBusiness(PartnerStandingRule):
    """Business through a suspended, blacklisted or terminated partner.

    >>> from detectors.registry import PartnerStanding, iso_time
    >>> d = BarredPartnerBusiness(PartnerStandingConfig())
    >>> barred = PartnerStanding("agency", "BR1", "blacklisted", "forged documents", 3600.0)
    >>> sale = Event("e1", "sale_recorded", "policy", 3600.0, policy_id="P1", partner_id="PT1", partner=barred)
    >>> [(f.tier.value, f.entity_id, f.window_start) for f in d.observe(sale, None)[1]]
    [('critical', 'PT1', 3600.0)]
    """

    name = "partner_barred_business"
    typology = "partner_barred_business"

    def breach(self, standing: PartnerStanding, at: float) -> tuple[Tier, float, str, dict] | None:
        if not standing.barred:
            return None
        since = standing.status_since if standing.status_since is not None else at
        return (Tier(self.config.barred_tier), since,
                f"partner {standing.status} since {iso_time(since)} ({standing.status_reason})",
                {"status": standing.status, "status_reason": standing.status_reason,
                 "status_effective_time": iso_time(since)})


@register("partner_standing")
class UnqualifiedPartnerBusiness(PartnerStandingRule):
    """Business through a partner whose qualification has expired (and that is not barred:
    a barred partner's business is the critical rule's).

    >>> from detectors.registry import PartnerStanding, iso_time
    >>> d = UnqualifiedPartnerBusiness(PartnerStandingConfig())
    >>> lapsed = PartnerStanding("agency", "BR1", "active", "admitted", 0.0, qualification_valid_until=7200.0)
    >>> [d.observe(Event(f"e{t}", "premium_paid", "payment", t, partner_id="PT1", partner=lapsed), None)[1] != []
    ...  for t in (7200.0, 7201.0)]
    [False, True]
    """

    name = "partner_qualification_expired"
    typology = "partner_qualification_expired"

    def breach(self, standing: PartnerStanding, at: float) -> tuple[Tier, float, str, dict] | None:
        if standing.barred or not standing.qualification_expired(at):
            return None
        until = standing.qualification_valid_until
        return (Tier(self.config.expired_tier), until, f"qualification expired at {iso_time(until)}",
                {"status": standing.status, "qualification_valid_until": iso_time(until)})
