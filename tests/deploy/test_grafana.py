"""The Grafana dashboards (deploy/grafana/): generated from code, wired to the
provisioned datasource, and reading the recording rules that exist."""
from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "deploy" / "grafana"
RULE_FILES = sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml"))


def builder():
    spec = importlib.util.spec_from_file_location("riskwatch_dashboards", GRAFANA / "dashboards.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted((GRAFANA / "dashboards").glob("*.json"))}


def panels(board: dict) -> list[dict]:
    found = []
    for panel in board["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def recording_rules() -> dict[str, str]:
    """record name -> expr (the last one for names recorded by several rules)."""
    return {rule["record"]: rule["expr"] for path in RULE_FILES
            for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"] if "record" in rule}


def test_committed_json_is_what_the_code_generates():
    module = builder()
    assert set(dashboards()) == set(module.DASHBOARDS)
    for name, build in module.DASHBOARDS.items():
        assert (GRAFANA / "dashboards" / name).read_text() == module.render(build()), \
            f"{name} is stale: run python3 deploy/grafana/dashboards.py"


def test_at_least_the_two_dashboards_the_issue_asks_for():
    titles = {board["title"] for board in dashboards().values()}
    assert {"riskwatch: risk overview", "riskwatch: pipeline health"} <= titles
    assert len({board["uid"] for board in dashboards().values()}) == len(dashboards())


def test_every_panel_queries_the_provisioned_datasource():
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = provisioned["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    for name, board in dashboards().items():
        for panel in panels(board):
            if panel["type"] == "row":
                continue
            assert panel["targets"], f"{name} / {panel['title']}: no query"
            for target in [panel, *panel["targets"]]:
                assert target["datasource"] == {"type": "prometheus", "uid": source["uid"]}, panel["title"]
            for target in panel["targets"]:
                assert target["expr"].strip(), panel["title"]


def test_panels_fit_the_grid_and_have_unique_ids():
    for name, board in dashboards().items():
        ids = [panel["id"] for panel in panels(board)]
        assert len(ids) == len(set(ids)), name
        for panel in panels(board):
            pos = panel["gridPos"]
            assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24, (name, panel["title"])


def test_recorded_series_the_panels_read_exist():
    records = recording_rules()
    for name, board in dashboards().items():
        for panel in panels(board):
            for target in panel.get("targets", []):
                for series in re.findall(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", target["expr"]):
                    assert series in records, f"{name} / {panel['title']}: no recording rule {series}"


def test_panels_use_a_recording_rule_rather_than_repeat_its_expression():
    def squash(expr: str) -> str:
        return re.sub(r"\s+", "", expr)

    records = {squash(expr): record for record, expr in recording_rules().items()}
    for name, board in dashboards().items():
        for panel in panels(board):
            for target in panel.get("targets", []):
                for expr, record in records.items():
                    assert expr not in squash(target["expr"]), f"{name} / {panel['title']}: use {record}"


def test_dashboard_provider_reads_where_compose_mounts_the_dashboards():
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "riskwatch.yml").read_text())
    (entry,) = provider["providers"]
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    mounts = dict(volume.split(":")[:2] for volume in compose["services"]["grafana"]["volumes"])
    assert mounts["./deploy/grafana/dashboards"] == entry["options"]["path"]
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
