"""riskwatch's Grafana dashboards, as code.

``python3 deploy/grafana/dashboards.py`` writes ``deploy/grafana/dashboards/*.json``
(what Grafana loads, through ``provisioning/dashboards/riskwatch.yml``);
``--check`` writes nothing and exits 1 when a file differs from this code. A
test keeps them equal, and another runs every panel's query against a real
Prometheus fed by a worker (tests/integration/test_prometheus.py).

Panels read the recording rules of ``deploy/prometheus/rules/`` where one
exists (names with colons), the raw metrics of ``streams/metrics.py``
otherwise. Every panel uses the datasource that
``provisioning/datasources/prometheus.yml`` provisions, by its uid.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "riskwatch-prometheus"}
#: DOMAIN.md's blue / yellow / orange / red.
TIER_COLOURS = {"low": "blue", "medium": "yellow", "high": "orange", "critical": "red"}


@dataclass(frozen=True)
class Query:
    """One panel target. ``instant``: a single value per series (stats, tables, bars)."""

    expr: str
    legend: str = ""
    instant: bool = False


def tier_overrides() -> list[dict[str, Any]]:
    return [{"matcher": {"id": "byName", "options": tier},
             "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": colour}}]}
            for tier, colour in TIER_COLOURS.items()]


def target_steps(target: float) -> dict[str, Any]:
    """Red below ``target``, green from it (a KPI with a floor)."""
    return {"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": target}]}


def alarm_steps(alarm: float) -> dict[str, Any]:
    """Green below ``alarm``, red from it (a count that should stay at zero)."""
    return {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": alarm}]}


class Board:
    """Places panels left to right on Grafana's 24-column grid, and numbers them."""

    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self.x = self.y = self.line_height = 0

    def row(self, title: str) -> None:
        self._newline()
        self.panels.append({"id": len(self.panels) + 1, "type": "row", "title": title, "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.y += 1

    def add(self, kind: str, title: str, description: str, queries: list[Query], *, width: int = 12,
            height: int = 8, unit: str = "short", options: dict[str, Any] | None = None,
            defaults: dict[str, Any] | None = None, overrides: list[dict[str, Any]] | None = None,
            transformations: list[dict[str, Any]] | None = None) -> None:
        if self.x + width > 24:
            self._newline()
        targets = []
        for index, query in enumerate(queries):
            target = {"refId": chr(ord("A") + index), "datasource": DATASOURCE, "editorMode": "code",
                      "expr": query.expr, "legendFormat": query.legend or "__auto",
                      "range": not query.instant, "instant": query.instant}
            if kind == "table":
                target["format"] = "table"
            targets.append(target)
        panel: dict[str, Any] = {
            "id": len(self.panels) + 1, "type": kind, "title": title, "description": description,
            "datasource": DATASOURCE, "gridPos": {"h": height, "w": width, "x": self.x, "y": self.y},
            "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit, **(defaults or {})}, "overrides": overrides or []},
            "options": options or {},
        }
        if transformations:
            panel["transformations"] = transformations
        self.panels.append(panel)
        self.x += width
        self.line_height = max(self.line_height, height)

    def timeseries(self, title: str, description: str, queries: list[Query], *, unit: str = "short",
                   width: int = 12, stacked: bool = False, tiers: bool = False,
                   min_zero: bool = True, dashed: str | None = None) -> None:
        """``tiers``: series named by tier in the tier colours; ``dashed``: a regex of series drawn dashed."""
        custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 40 if stacked else 10,
                  "showPoints": "never", "spanNulls": False,
                  "stacking": {"mode": "normal" if stacked else "none", "group": "A"}}
        defaults = {"custom": custom, "color": {"mode": "palette-classic"}}
        if min_zero:
            defaults["min"] = 0
        overrides = tier_overrides() if tiers else []
        if dashed:
            overrides.append({"matcher": {"id": "byRegexp", "options": dashed},
                              "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}]})
        self.add("timeseries", title, description, queries, width=width, unit=unit, defaults=defaults,
                 overrides=overrides,
                 options={"legend": {"showLegend": True, "displayMode": "table", "placement": "right",
                                     "calcs": ["lastNotNull", "max"]},
                          "tooltip": {"mode": "multi", "sort": "desc"}})

    def stat(self, title: str, description: str, queries: list[Query], *, unit: str = "short", width: int = 6,
             height: int = 5, target: float | None = None, alarm: float | None = None, tiers: bool = False,
             decimals: int | None = None) -> None:
        """``target``: red below it; ``alarm``: red from it; neither: plain."""
        steps = target_steps(target) if target is not None else alarm_steps(alarm) if alarm is not None else None
        defaults: dict[str, Any] = {"color": {"mode": "thresholds"} if steps else {"mode": "fixed",
                                                                                    "fixedColor": "text"}}
        if steps:
            defaults["thresholds"] = steps
        if decimals is not None:
            defaults["decimals"] = decimals
        self.add("stat", title, description, queries, width=width, height=height, unit=unit, defaults=defaults,
                 overrides=tier_overrides() if tiers else None,
                 options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                          "colorMode": "background" if (steps or tiers) else "value",
                          "graphMode": "none", "textMode": "value_and_name" if tiers else "auto",
                          "orientation": "auto", "justifyMode": "auto"})

    def bars(self, title: str, description: str, query: Query, *, unit: str = "short", width: int = 8,
             target: float | None = None) -> None:
        defaults: dict[str, Any] = {"color": {"mode": "thresholds" if target is not None else "continuous-YlRd"}}
        if target is not None:
            defaults.update(thresholds=target_steps(target), min=0.9, max=1)
        else:
            defaults["min"] = 0
        self.add("bargauge", title, description, [query], width=width, unit=unit, defaults=defaults,
                 options={"orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True,
                          "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}})

    def table(self, title: str, description: str, query: Query, *, width: int = 12, unit: str = "short",
              hide: tuple[str, ...] = ("Time",)) -> None:
        self.add("table", title, description, [query], width=width, unit=unit,
                 options={"showHeader": True, "cellHeight": "sm"},
                 transformations=[{"id": "organize", "options": {"excludeByName": {name: True for name in hide}}}])

    def _newline(self) -> None:
        if self.x:
            self.y += self.line_height
        self.x = self.line_height = 0


def dashboard(uid: str, title: str, description: str, board: Board, time_from: str, refresh: str) -> dict[str, Any]:
    return {
        "uid": uid, "title": title, "description": description, "tags": ["riskwatch"],
        "editable": True, "graphTooltip": 1, "timezone": "browser", "schemaVersion": 39, "version": 1,
        "time": {"from": time_from, "to": "now"}, "refresh": refresh,
        "annotations": {"list": []}, "templating": {"list": []}, "links": [
            {"title": "riskwatch dashboards", "type": "dashboards", "tags": ["riskwatch"], "asDropdown": False}],
        "panels": board.panels,
    }


def risk_overview() -> dict[str, Any]:
    b = Board()
    b.row("Alerts now")
    b.stat("Open alerts by tier", "Alerts opened and not yet resolved (riskwatch_open_alerts, summed over workers).",
           [Query("sum by (tier) (riskwatch_open_alerts)", "{{tier}}", instant=True)], width=10, tiers=True)
    b.stat("Alerts opened", "Alerts opened in the dashboard's time range, all tiers.",
           [Query("sum(increase(riskwatch_alerts_emitted_total[$__range]))", instant=True)], width=4, decimals=0)
    b.stat("Response-deadline breaches", "High and critical alerts not acknowledged in time (24 h, 4 h) and "
           "escalated, in the time range. Target: none.",
           [Query("sum(increase(riskwatch_alert_escalations_total[$__range])) or vector(0)", instant=True)],
           width=5, alarm=1, decimals=0)
    b.stat("Partners below the compliance target", "Partners whose 30-day compliance rate is below 98%.",
           [Query('count(partner:riskwatch_compliance_rate:ratio30d < on () group_left () '
                  'kpi:riskwatch_target:ratio{kpi="partner_compliance_rate"}) or vector(0)', instant=True)],
           width=5, alarm=1, decimals=0)

    b.row("Alerts over time")
    b.timeseries("Alerts per hour by tier", "Alerts opened in the last hour, per tier "
                 "(tier_typology:riskwatch_alerts_emitted:increase1h).",
                 [Query("sum by (tier) (tier_typology:riskwatch_alerts_emitted:increase1h)", "{{tier}}")],
                 stacked=True, tiers=True)
    b.timeseries("Alerts per hour by typology", "Alerts opened in the last hour, per typology.",
                 [Query("sum by (typology) (tier_typology:riskwatch_alerts_emitted:increase1h)", "{{typology}}")],
                 stacked=True)
    b.timeseries("Response-deadline breaches per hour by tier", "Escalations: alerts not acknowledged within "
                 "their response deadline, in the last hour.",
                 [Query("sum by (tier) (tier:riskwatch_alert_escalations:increase1h)", "{{tier}}")],
                 stacked=True, tiers=True)
    b.table("Alerts by typology and tier", "Alerts opened in the time range.",
            Query("sort_desc(sum by (typology, tier) (increase(riskwatch_alerts_emitted_total[$__range])))",
                  instant=True))

    b.row("Branches and partners")
    b.bars("Top 10 branches by alerts", "Alerts opened in the time range, all tiers ('none': no branch known).",
           Query("topk(10, sum by (branch) (increase(riskwatch_alerts_by_branch_total[$__range])))", "{{branch}}",
                 instant=True))
    b.bars("Top 10 branches by high and critical alerts", "Alerts that page on-call, in the time range.",
           Query('topk(10, sum by (branch) (increase(riskwatch_alerts_by_branch_total{tier=~"high|critical"}'
                 '[$__range])))', "{{branch}}", instant=True))
    b.bars("Top 10 partners by alerts", "Alerts opened in the time range, all tiers ('none': direct sales).",
           Query("topk(10, sum by (partner) (increase(riskwatch_alerts_by_partner_total[$__range])))",
                 "{{partner}}", instant=True))

    b.row("KPIs against their targets")
    b.stat("Compliance rate, all partners (30 d)", "1 - mis-selling signals / sales over the last 30 days. "
           "Target: at least 98%.", [Query("job:riskwatch_compliance_rate:ratio30d", instant=True)],
           unit="percentunit", target=0.98, decimals=2)
    b.stat("Complaints handled on time (30 d)", "1 - complaints past their handling deadline / complaints filed, "
           "last 30 days. Target: 100%.", [Query("job:riskwatch_complaint_handling_on_time:ratio30d", instant=True)],
           unit="percentunit", target=1, decimals=2)
    b.bars("Partner compliance rate (30 d), lowest 10", "Per partner: 1 - mis-selling signals / sales over "
           "30 days; red below 98%. The partner_compliance_rate detector alerts on it with a test for sample size.",
           Query("bottomk(10, partner:riskwatch_compliance_rate:ratio30d)", "{{partner}}", instant=True),
           unit="percentunit", width=12, target=0.98)
    b.timeseries("KPIs and their targets", "The rolling 30-day KPIs against their targets (dashed).",
                 [Query("job:riskwatch_compliance_rate:ratio30d", "partner compliance rate"),
                  Query("job:riskwatch_complaint_handling_on_time:ratio30d", "complaints handled on time"),
                  Query("kpi:riskwatch_target:ratio", "target: {{kpi}}")],
                 unit="percentunit", min_zero=False, dashed="target: .*")
    b.timeseries("Complaints filed and overdue per hour", "Complaints filed, and complaints that passed their "
                 "handling deadline (complaint_overdue), per hour.",
                 [Query("3600 * job:riskwatch_complaints_filed:rate5m", "filed"),
                  Query("3600 * job:riskwatch_complaints_overdue:rate5m", "overdue")])
    b.table("Confirmed precision by detector", "Alerts resolved as confirmed / all alerts resolved with a "
            "disposition, in the time range (riskwatch act resolve --disposition).",
            Query('sum by (detector) (increase(riskwatch_alert_dispositions_total{disposition="confirmed"}'
                  '[$__range]) or 0 * riskwatch_alert_dispositions_total)'
                  " / (sum by (detector) (increase(riskwatch_alert_dispositions_total[$__range])) > 0)",
                  instant=True),
            unit="percentunit")
    return dashboard("riskwatch-risk-overview", "riskwatch: risk overview",
                     "Alerts by tier, typology, branch and partner; the KPIs of the business against their targets.",
                     b, "now-7d", "1m")


def pipeline_health() -> dict[str, Any]:
    b = Board()
    b.row("Workers")
    b.stat("Workers up", "Workers Prometheus scrapes successfully.",
           [Query('sum(up{job="riskwatch"})', instant=True)], width=4, decimals=0)
    b.stat("Workers ready", "Workers that have their partitions and have recovered their tables.",
           [Query("sum(riskwatch_worker_ready)", instant=True)], width=4, decimals=0)
    b.stat("Pipeline alerts firing", "Prometheus's alerts on the pipeline (deploy/prometheus/rules/pipeline.yml).",
           [Query('count(ALERTS{alertstate="firing", component="pipeline"}) or vector(0)', instant=True)],
           width=4, alarm=1, decimals=0)
    b.table("Build and configuration", "Version and detector configuration hash of each worker.",
            Query("riskwatch_build_info", instant=True), width=12,
            hide=("Time", "Value", "__name__", "job"))

    b.row("Throughput and latency")
    b.timeseries("Events consumed per second by topic", "Events decoded and processed, per input topic.",
                 [Query("topic:riskwatch_events_consumed:rate5m", "{{topic}}")], unit="ops")
    b.timeseries("Events per second by event type", "Events processed, per event type.",
                 [Query("sum by (event_type) (rate(riskwatch_events_consumed_total[$__rate_interval]))",
                        "{{event_type}}")], unit="ops")
    b.timeseries("Processing latency by stage", "From a message's arrival at the worker to its findings being "
                 "done: p50, p95 and p99 (decode: input topics; detect: stateful detectors).",
                 [Query("stage:riskwatch_processing_seconds:quantile_rate5m", "{{stage}} p{{quantile}}")],
                 unit="s")
    b.timeseries("Alert event-time lag", "Wall time an alert was opened minus the event time behind it, p50 "
                 "and p95 over 15 minutes (large in a replay of old events).",
                 [Query("job:riskwatch_event_lag_seconds:quantile_rate15m", "p{{quantile}}")], unit="s")
    b.timeseries("Re-keyed events per second by keyspace", "Events routed to the stateful detectors, per "
                 "entity keyspace.",
                 [Query("sum by (keyspace) (rate(riskwatch_keyed_events_total[$__rate_interval]))", "{{keyspace}}")],
                 unit="ops")
    b.timeseries("Alert records per second by status", "Alert lifecycle records published (open, escalated, "
                 "acknowledged, resolved...).",
                 [Query("sum by (status) (rate(riskwatch_alert_records_total[$__rate_interval]))", "{{status}}")],
                 unit="ops")

    b.row("Backlog and bad input")
    b.timeseries("Consumer lag by topic", "Messages between the workers' positions and the high watermarks.",
                 [Query("topic:riskwatch_consumer_lag:sum", "{{topic}}")])
    b.bars("Consumer lag, top 10 partitions", "The partitions furthest behind.",
           Query("topk(10, sum by (topic, partition) (riskwatch_consumer_lag))", "{{topic}} [{{partition}}]",
                 instant=True), width=12)
    b.timeseries("Input partitions paused", "Input partitions a worker does not read for now: their events "
                 "run more than 5 minutes of event time ahead of the slowest busy one (README, \"Event time\"). "
                 "Many for long, with lag, means one source holds the rest back.",
                 [Query("sum(riskwatch_input_partitions_paused)", "paused")], unit="short")
    b.timeseries("Dead-lettered messages per second", "Messages sent to <topic>.dlq, per topic and reason.",
                 [Query("topic_reason:riskwatch_events_rejected:rate5m", "{{topic}} {{reason}}")], unit="ops")
    b.timeseries("Dead-letter ratio by topic", "Share of each topic's messages dead-lettered. The "
                 "RiskwatchDeadLetterRate alert fires above 1% for 10 minutes.",
                 [Query("topic:riskwatch_dead_letter:ratio_rate5m", "{{topic}}")], unit="percentunit")

    b.row("Detectors")
    b.timeseries("Detector time per event", "Mean seconds a detector spends observing one event.",
                 [Query("detector:riskwatch_detector_seconds_per_evaluation:ratio_rate5m", "{{detector}}")],
                 unit="s")
    b.timeseries("Detector share of a core", "Seconds each detector spends per second (1 = a whole core).",
                 [Query("detector:riskwatch_detector_seconds:rate5m", "{{detector}}")], unit="percentunit",
                 stacked=True)
    b.timeseries("State entities by detector", "Entities each detector keeps state for, all workers.",
                 [Query("detector:riskwatch_state_entities:sum", "{{detector}}")], stacked=True)
    b.timeseries("Alert rate by typology (10 min)", "The rate the detector-health alerts compare with its "
                 "7-day baseline (RiskwatchDetectorSilent, RiskwatchDetectorRateJump).",
                 [Query("3600 * typology:riskwatch_alerts_emitted:rate10m", "{{typology}}")], unit="short")

    b.row("Paging")
    b.timeseries("Alertmanager pushes per second by result", "Pushes of high and critical alerts to "
                 "Alertmanager (retried with backoff).",
                 [Query("sum by (result) (rate(riskwatch_alertmanager_pushes_total[$__rate_interval]))",
                        "{{result}}")], unit="ops")
    b.stat("Alerts dropped from the push queue", "Alerts never pushed because a worker's queue was full, in the "
           "time range (they are on the alert topic).",
           [Query("sum(increase(riskwatch_alertmanager_dropped_total[$__range]))", instant=True)],
           width=6, height=8, alarm=1, decimals=0)
    return dashboard("riskwatch-pipeline-health", "riskwatch: pipeline health",
                     "Throughput, latency, consumer lag, dead letters, detectors and paging of the riskwatch workers.",
                     b, "now-6h", "30s")


DASHBOARDS = {"risk-overview.json": risk_overview, "pipeline-health.json": pipeline_health}


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, build in DASHBOARDS.items():
        path, text = OUT / name, render(build())
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            OUT.mkdir(exist_ok=True)
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)}; run python3 deploy/grafana/dashboards.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
