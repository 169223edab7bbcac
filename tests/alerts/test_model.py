"""The alert record, its identity, and the tier policy that makes it from a finding."""
from __future__ import annotations

import orjson
import pytest

from alerts.book import AlertBook
from alerts.model import Alert, AlertStatus, AlertTier, alert_id, iso_time
from alerts.policy import AlertPolicyConfig
from builders import T0
from detectors.base import Finding, Tier

FINDING = Finding(
    detector="structuring",
    detector_version="1",
    typology="structuring",
    tier=Tier.HIGH,
    tier_reason="3 near-threshold payments summing past the threshold",
    entity_type="account",
    entity_id="ACC1",
    window_start=T0,
    event_time=T0 + 7200.0,
    score=2.7600000004,
    summary="account ACC1: 3 cash payments just under 50,000 CNY within 72 h, total 138,000.00 CNY",
    evidence={"payments": 3, "event_ids": ["p1", "p2", "p3"]},
    branch_id="B1",
)


def opened(finding: Finding, emitted_at: float, version: str = "cfg123") -> Alert:
    book = AlertBook(AlertPolicyConfig(), version, clock=lambda: emitted_at)
    _state, outcome = book.on_finding(finding, None)
    return outcome.records[0]


def test_alert_id_is_the_documented_hash():
    # sha256("structuring\x1faccount\x1fACC1\x1f1700352000.000"), first 24 hex digits.
    # Changing it re-numbers every alert: replays would no longer match.
    assert alert_id("structuring", "account", "ACC1", T0) == "2119017ace7c7918809db9c8"


@pytest.mark.parametrize(
    "other",
    [
        ("complaint_spike", "account", "ACC1", T0),
        ("structuring", "agent", "ACC1", T0),
        ("structuring", "account", "ACC2", T0),
        ("structuring", "account", "ACC1", T0 + 0.001),
    ],
)
def test_alert_id_changes_with_each_part(other):
    assert alert_id(*other) != alert_id("structuring", "account", "ACC1", T0)


def test_alert_id_is_to_the_millisecond():
    assert alert_id("d", "account", "A", T0 + 0.0001) == alert_id("d", "account", "A", T0)


@pytest.mark.parametrize(
    "epoch, iso",
    [(0.0, "1970-01-01T00:00:00.000Z"), (T0, "2023-11-19T00:00:00.000Z"), (T0 + 0.5, "2023-11-19T00:00:00.500Z")],
)
def test_iso_time(epoch, iso):
    assert iso_time(epoch) == iso


def test_the_book_turns_a_first_finding_into_an_open_alert():
    alert = opened(FINDING, T0 + 9000.0)
    assert alert == Alert(
        alert_id="2119017ace7c7918809db9c8",
        status=AlertStatus.OPEN,
        tier=AlertTier.HIGH,
        tier_reason="structuring: 3 near-threshold payments summing past the threshold",
        typology="structuring",
        entity_type="account",
        entity_id="ACC1",
        subject="account:ACC1",
        score=2.76,
        summary=FINDING.summary,
        evidence=FINDING.evidence,
        detector="structuring",
        detector_version="1",
        config_version="cfg123",
        event_time=T0 + 7200.0,
        window_start=T0,
        emitted_at=T0 + 9000.0,
        branch_id="B1",
        partner_id=None,
        count=1,
        first_seen=T0 + 7200.0,
        last_seen=T0 + 7200.0,
        ack_deadline=T0 + 7200.0 + 24 * 3600.0,  # high: 24 h to acknowledge
    )


def test_alert_id_does_not_depend_on_when_it_was_emitted():
    early = opened(FINDING, T0, "cfg")
    late = opened(FINDING, T0 + 86_400.0, "cfg")
    assert early.alert_id == late.alert_id
    assert early.emitted_at != late.emitted_at


def test_alert_json_and_key():
    alert = opened(FINDING, T0 + 9000.0)
    assert alert.key == b"account:ACC1"
    data = orjson.loads(alert.to_json())
    assert data == {
        "alert_id": "2119017ace7c7918809db9c8",
        "status": "open",
        "tier": "high",
        "tier_reason": "structuring: 3 near-threshold payments summing past the threshold",
        "typology": "structuring",
        "entity_type": "account",
        "entity_id": "ACC1",
        "subject": "account:ACC1",
        "score": 2.76,
        "summary": FINDING.summary,
        "evidence": {"payments": 3, "event_ids": ["p1", "p2", "p3"]},
        "detector": "structuring",
        "detector_version": "1",
        "config_version": "cfg123",
        "event_time": "2023-11-19T02:00:00.000Z",
        "window_start": "2023-11-19T00:00:00.000Z",
        "emitted_at": "2023-11-19T02:30:00.000Z",
        "branch_id": "B1",
        "partner_id": None,
        "count": 1,
        "first_seen": "2023-11-19T02:00:00.000Z",
        "last_seen": "2023-11-19T02:00:00.000Z",
        "escalation_level": 0,
        "ack_deadline": "2023-11-20T02:00:00.000Z",
        "acknowledged_by": None,
        "acknowledged_at": None,
        "resolved_by": None,
        "resolved_at": None,
        "resolution": None,
        "runbook_url": None,
        "schema_version": 1,
    }


def test_tiers_rank_blue_to_red():
    assert [t.rank for t in (Tier.LOW, Tier.MEDIUM, Tier.HIGH, Tier.CRITICAL)] == [0, 1, 2, 3]
    assert AlertTier is Tier
