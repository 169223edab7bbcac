"""The tier policy: which tier a finding's alert gets, and why.

Today the tier is the one the detector's configured rule proposes (each rule
documents why: a banned phrase blocks a sale and is ``critical``, five or more
near-threshold payments are ``critical``...). The alert carries that reason.
"""
from __future__ import annotations

from collections.abc import Callable

from alerts.model import Alert, alert_id
from detectors.base import Finding


class TierPolicy:
    def __init__(self, config_version: str, clock: Callable[[], float]) -> None:
        self.config_version = config_version
        self.clock = clock

    def alert_for(self, finding: Finding) -> Alert:
        return Alert(
            alert_id=alert_id(finding.detector, finding.entity_type, finding.entity_id, finding.window_start),
            status="open",
            tier=finding.tier,
            tier_reason=f"{finding.typology}: {finding.tier_reason}",
            typology=finding.typology,
            entity_type=finding.entity_type,
            entity_id=finding.entity_id,
            score=round(finding.score, 6),
            summary=finding.summary,
            evidence=finding.evidence,
            detector=finding.detector,
            detector_version=finding.detector_version,
            config_version=self.config_version,
            event_time=finding.event_time,
            window_start=finding.window_start,
            emitted_at=self.clock(),
            branch_id=finding.branch_id,
            partner_id=finding.partner_id,
        )
