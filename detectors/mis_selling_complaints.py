"""Complaints in the mis-selling category: each one is a mis-selling signal.

A customer who files a complaint that the complaint system classifies as
mis-selling (销售误导) says the sale was misleading; the business target for
mis-selling incidents is zero, so each such complaint raises
``mis_selling_complaint`` on the complaint (medium by default), naming the
agent, branch, partner, product and policy it is about. Stateless: a duplicate
delivery gives the identical finding, hence the same alert id.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from detectors.base import Detector, Finding, State, Tier, register
from detectors.events import Event

TYPOLOGY = "mis_selling_complaint"


@dataclass(frozen=True, slots=True)
class MisSellingComplaintConfig:
    #: Complaint categories that are mis-selling signals.
    categories: list[str] = field(default_factory=lambda: ["mis_selling"])
    tier: str = Tier.MEDIUM.value

    def __post_init__(self) -> None:
        if not self.categories or not all(isinstance(c, str) and c for c in self.categories):
            raise ValueError("categories must be a non-empty list of category names")
        Tier(self.tier)


@register("mis_selling_complaint")
class MisSellingComplaintDetector(Detector):
    """Flags each ``complaint_filed`` in a mis-selling category.

    >>> from detectors.events import Event
    >>> d = MisSellingComplaintDetector(MisSellingComplaintConfig())
    >>> filed = Event("e1", "complaint_filed", "complaint", 0.0, complaint_id="K1", agent_id="A1",
    ...               policy_id="P1", category="mis_selling")
    >>> [f.summary for f in d.observe(filed, None)[1]]
    ['complaint K1: mis_selling complaint about policy P1 (agent A1)']
    """

    name = "mis_selling_complaint"
    typologies = (TYPOLOGY,)
    version = "1"
    event_types = frozenset({"complaint_filed"})
    keyspace = None

    def __init__(self, config: MisSellingComplaintConfig) -> None:
        self.config = config

    def key(self, event: Event) -> str | None:
        return event.complaint_id

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        if event.complaint_id is None or event.category not in self.config.categories:
            return None, []
        about = f"policy {event.policy_id}" if event.policy_id else "a sale"
        return None, [Finding(
            detector=self.name,
            detector_version=self.version,
            typology=TYPOLOGY,
            tier=Tier(self.config.tier),
            tier_reason=f"the customer complains of mis-selling ({event.category})",
            entity_type="complaint",
            entity_id=event.complaint_id,
            window_start=event.time,
            event_time=event.time,
            score=1.0,
            summary=f"complaint {event.complaint_id}: {event.category} complaint about {about} (agent {event.agent_id})",
            evidence={"category": event.category, "agent_id": event.agent_id, "product_id": event.product_id,
                      "policy_id": event.policy_id, "customer_id": event.customer_id, "event_ids": [event.event_id]},
            branch_id=event.branch_id,
            partner_id=event.partner_id,
        )]
