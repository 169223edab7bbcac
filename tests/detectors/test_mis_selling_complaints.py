"""Complaints in the mis-selling category: one medium alert each, on the complaint."""
from __future__ import annotations

import pytest

from builders import T0, complaint, feed
from detectors.base import Tier
from detectors.mis_selling_complaints import MisSellingComplaintConfig, MisSellingComplaintDetector


@pytest.fixture
def detector() -> MisSellingComplaintDetector:
    return MisSellingComplaintDetector(MisSellingComplaintConfig())


def test_a_mis_selling_complaint_raises_one_alert(detector):
    [finding] = feed(detector, [complaint("k1", policy_id="P1", product_id="PR1", partner_id="PT1")])[0]
    assert finding.typology == "mis_selling_complaint"
    assert finding.tier is Tier.MEDIUM
    assert (finding.entity_type, finding.entity_id) == ("complaint", "CP-k1")
    assert finding.window_start == finding.event_time == T0
    assert finding.evidence == {"category": "mis_selling", "agent_id": "A1", "product_id": "PR1", "policy_id": "P1",
                                "customer_id": "C1", "event_ids": ["k1"]}
    assert (finding.branch_id, finding.partner_id) == ("B1", "PT1")
    assert finding.summary == "complaint CP-k1: mis_selling complaint about policy P1 (agent A1)"


def test_other_categories_raise_nothing_and_no_policy_means_a_sale(detector):
    assert feed(detector, [complaint("k1", category=c) for c in ("billing", "claims_service", "other")])[0] == []
    [finding] = feed(detector, [complaint("k2")])[0]
    assert finding.summary == "complaint CP-k2: mis_selling complaint about a sale (agent A1)"


def test_a_duplicate_gives_the_same_finding(detector):
    once = feed(detector, [complaint("k1")])[0]
    assert feed(detector, [complaint("k1")] * 2)[0] == once * 2


def test_categories_are_configurable():
    det = MisSellingComplaintDetector(MisSellingComplaintConfig(categories=["mis_selling", "other"], tier="high"))
    [finding] = feed(det, [complaint("k1", category="other")])[0]
    assert finding.tier is Tier.HIGH
    with pytest.raises(ValueError):
        MisSellingComplaintConfig(categories=[])
