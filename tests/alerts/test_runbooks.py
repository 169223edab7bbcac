"""Every typology has an emergency-response runbook, and every alert links it."""
from __future__ import annotations

import re

import pytest

import detectors.catalog  # noqa: F401  (registers every detector)
from alerts.alertmanager import to_alertmanager
from alerts.runbooks import RUNBOOK_DIR, runbook_url
from detectors.base import registered_typologies
from detectors.config import DetectorConfig
from detectors.events import Event
from streams.engine import RiskEngine, run_events
from streams.generator.model import SCENARIO_TYPOLOGIES

SECTIONS = ("## Who responds", "## What to check", "## What to do", "## When to escalate")


def test_every_typology_the_generator_injects_is_declared_by_a_registered_detector():
    assert set(SCENARIO_TYPOLOGIES) <= set(registered_typologies())


@pytest.mark.parametrize("typology", registered_typologies())
def test_every_registered_typology_has_a_runbook_with_the_four_sections(typology):
    path = RUNBOOK_DIR / f"{typology}.md"
    assert path.is_file(), f"write deploy/runbooks/{typology}.md (who responds, what to check, what to do, " \
                           "when to escalate)"
    text = path.read_text()
    assert text.startswith(f"# Runbook: `{typology}`")
    for section in SECTIONS:
        body = text.split(section, 1)[1].split("\n## ", 1)[0] if section in text else ""
        assert re.search(r"\w", body), f"{path.name}: section {section!r} is missing or empty"


def test_an_alert_carries_its_runbook_link_and_alertmanager_gets_it_as_an_annotation():
    engine = RiskEngine(DetectorConfig(), clock=lambda: 1_767_000_000.0,
                        runbook_base_url="https://wiki.example/runbooks/")
    sale = Event("s1", "sale_recorded", "policy", 10.0, policy_id="P1", agent_id="A1", branch_id="B1",
                 transcript="本产品 稳赚不赔")
    alert = next(iter(run_events(engine, [sale])))
    assert alert.runbook_url == "https://wiki.example/runbooks/misleading_sales_phrase.md"
    assert runbook_url("https://wiki.example/runbooks", alert.typology) == alert.runbook_url
    assert to_alertmanager(alert, now=20.0)["annotations"]["runbook_url"] == alert.runbook_url


def test_without_a_base_url_alerts_carry_no_link():
    sale = Event("s1", "sale_recorded", "policy", 10.0, policy_id="P1", agent_id="A1", transcript="稳赚不赔")
    alert = next(iter(run_events(RiskEngine(DetectorConfig()), [sale])))
    assert alert.runbook_url is None
    assert "runbook_url" not in to_alertmanager(alert, now=20.0)["annotations"]
