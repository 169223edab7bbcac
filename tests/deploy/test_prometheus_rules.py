"""promtool on the Prometheus configuration, the rule files and their unit tests (deploy/prometheus/)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))


def promtool(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *map(str, args)], cwd=PROMETHEUS, capture_output=True, text=True,
                          timeout=120)


def rules() -> list[dict]:
    return [rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]]


def test_config_is_valid_and_loads_every_rule_file():
    run = promtool("check", "config", "prometheus.yml")
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{len(RULE_FILES)} rule files found" in run.stdout


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_rule_file_is_valid(path: Path):
    run = promtool("check", "rules", path)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("path", RULE_TESTS, ids=lambda p: p.name)
def test_rule_unit_tests_pass(path: Path):
    run = promtool("test", "rules", path)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_rule_file_is_unit_tested_and_every_alert_has_a_test():
    tested = [yaml.safe_load(path.read_text()) for path in RULE_TESTS]
    loaded = {(PROMETHEUS / "tests" / f).resolve() for suite in tested for f in suite["rule_files"]}
    assert loaded == {p.resolve() for p in RULE_FILES}
    alerts = {rule["alert"] for rule in rules() if "alert" in rule}
    fired = {case["alertname"] for suite in tested for test in suite["tests"]
             for case in test.get("alert_rule_test", []) if case.get("exp_alerts")}
    assert alerts - fired == set(), "alerts with no unit test where they fire"


def test_alerts_route_like_business_alerts():
    """deploy/alertmanager/alertmanager.yml routes on `tier`; every alert names one, and its component."""
    for rule in rules():
        if "alert" in rule:
            assert rule["labels"]["tier"] in ("low", "medium", "high", "critical"), rule["alert"]
            assert rule["labels"]["component"] == "pipeline", rule["alert"]
            assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]


def test_recording_rules_follow_the_naming_convention():
    """level:metric:operations, and the metric part names the riskwatch metric it comes from."""
    for rule in rules():
        if "record" in rule:
            level, metric, operations = rule["record"].split(":")
            assert level and operations and metric.startswith("riskwatch_"), rule["record"]
