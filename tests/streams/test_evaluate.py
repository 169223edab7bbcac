"""Scoring of alerts against ground truth, and the generated-day evaluation itself."""
from __future__ import annotations

import pytest

from alerts.model import Alert, AlertStatus
from detectors.base import Tier
from streams.evaluate import MATCH_SLACK_S, evaluate_generated, score_alerts
from streams.generator import TruthRecord


def _alert(alert_id: str, typology: str, entity: str, at: float) -> Alert:
    return Alert(alert_id=alert_id, status=AlertStatus.OPEN, tier=Tier.HIGH, tier_reason="r", typology=typology,
                 entity_type="account", entity_id=entity, subject=f"account:{entity}", score=1.0, summary="s",
                 evidence={"event_ids": ["e"]}, detector="d", detector_version="1", config_version="v",
                 event_time=at, window_start=at, emitted_at=0.0)


def _truth(typology: str, entity: str, start: float, end: float, benign: bool = False) -> TruthRecord:
    return TruthRecord(f"{typology}-{entity}", typology, "account", entity, start, end, benign)


def test_scores_worked_by_hand():
    truth = [_truth("structuring", "A", 100, 200), _truth("structuring", "B", 100, 200),
             _truth("structuring", "C", 100, 200, benign=True)]
    alerts = [
        _alert("1", "structuring", "A", 150),  # true, delay 50
        _alert("1", "structuring", "A", 190),  # same id again (escalation): counts once
        _alert("2", "structuring", "C", 150),  # fires on the look-alike: false
        _alert("3", "structuring", "B", 200 + MATCH_SLACK_S + 1),  # too late for B's window: false
    ]
    score = score_alerts(alerts, truth)["structuring"]
    assert (score.scenarios, score.benign, score.alerts) == (2, 1, 3)
    assert score.precision == pytest.approx(1 / 3)
    assert score.recall == pytest.approx(1 / 2)
    assert score.f1 == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    assert score.to_dict()["median_delay_s"] == 50.0


def test_a_typology_with_nothing_to_find_and_no_alert_is_perfect():
    score = score_alerts([], [_truth("structuring", "C", 0, 1, benign=True)])["structuring"]
    assert (score.precision, score.recall) == (1.0, 1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_day_meets_the_quality_bar(seed):
    result = evaluate_generated(seed)
    assert result["events"] == 10_000
    for typology, row in result["typologies"].items():
        assert row["recall"] == 1.0, (typology, row)
        assert row["precision"] >= 0.9, (typology, row)
