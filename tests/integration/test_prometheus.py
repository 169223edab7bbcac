"""The project's Prometheus configuration against a real worker: after a generated
load, every recording rule and every query of every Grafana panel returns data."""
from __future__ import annotations

import json
import math
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from kafka import KafkaProducer

from services import REPO, Alertmanager, Prometheus, WebhookSink, wait_until
from streams.actions import encode_action
from streams.generator import GeneratorConfig, duration_days, generate
from streams.metrics import scrape_progress
from streams.publish import produce

pytestmark = pytest.mark.integration

DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"
#: What Grafana puts in for its variables, sized for a test of a minute or two.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "1h", "$__interval": "15s"}
EVENTS = 3000
#: One bad message per input stream, and one bad action.
BAD_INPUT = {"policy": b"[1, 2, 3]", "payment": b"\xff not json", "complaint": b'{"schema_version": 1'}


def panel_targets() -> list[tuple[str, str, str, bool]]:
    """(dashboard, panel title, expr, instant) of every target of every panel, rows included."""
    found = []

    def walk(board: str, panels: list[dict]) -> None:
        for panel in panels:
            walk(board, panel.get("panels", []))
            for target in panel.get("targets", []):
                found.append((board, panel["title"], target["expr"], bool(target.get("instant"))))

    for path in sorted(DASHBOARDS.glob("*.json")):
        walk(path.stem, json.loads(path.read_text())["panels"])
    return found


def with_variables(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def finite(values: list) -> bool:
    return any(math.isfinite(float(v)) for _t, v in values)


def _send(system, items: list[tuple[str, bytes, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=system.settings.bootstrap_servers)
    for topic, key, value in items:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


@pytest.fixture
def alertmanager(tmp_path: Path):
    sink = WebhookSink()
    am = Alertmanager(tmp_path, sink.url).start()
    yield am
    am.stop()
    sink.close()


@pytest.fixture
def prometheus_for(tmp_path: Path):
    started: list[Prometheus] = []

    def start(targets: list[str]) -> Prometheus:
        prom = Prometheus(tmp_path, targets).start()
        started.append(prom)
        return prom

    yield start
    for prom in started:
        prom.stop()


def test_every_recording_rule_and_every_panel_query_returns_data(start_system, alertmanager, prometheus_for):
    system = start_system(RISKWATCH_ALERTMANAGER_URL=alertmanager.url)
    prom = prometheus_for([system.env["RISKWATCH_METRICS_ADDR"]])
    began = time.time()
    system.wait_ready()

    # A generated day ending now, with every scenario family; bad input half-way.
    events, _truth = generate(GeneratorConfig(seed=5, events=EVENTS,
                                              start=time.time() - duration_days(EVENTS) * 86_400.0))
    half = len(events) // 2
    produce(system.settings, events[:half])
    # The KPI rules are rates of counters, which need an increase between two scrapes:
    # the second half goes in only once Prometheus has seen the first half's counts
    # (a worker that consumed everything between two scrapes left the rates at zero).
    wait_until(lambda: prom.query("sum(riskwatch_sales_total)")
               and prom.query('sum(riskwatch_complaints_total{status="filed"})'), 90,
               "Prometheus to scrape the first half's sales and complaints")
    topics = system.settings.topics
    bad = [(topics.inputs[stream], b"bad", raw) for stream, raw in BAD_INPUT.items()]
    bad.append((topics.actions, b"customer:nobody", b'{"action": "ack"}'))
    _send(system, bad)
    produce(system.settings, events[half:])

    def consumed_all() -> bool:
        counts = scrape_progress(system.metrics_url)
        return counts.consumed == len(events) and counts.rejected == len(bad)

    wait_until(consumed_all, 90, f"the worker to consume {len(events)} events and reject {len(bad)}")

    # People act on alerts: an acknowledgement, then resolutions in two rounds. A
    # counter is born at its first increment, which increase() cannot see: the
    # detector's second round of confirmations is what a time-range panel shows.
    # Each round resolves several alerts, in case one has cleared meanwhile.
    # The stateful detectors' alerts come after the input stage is done: the keyed stage
    # applies its events as the watermark marks release them.
    def open_alerts() -> tuple[list[dict], list[dict]] | None:
        latest = {a["alert_id"]: a for a in system.alerts(idle_s=1.0)}  # one alert's records share a partition
        by_detector: dict[str, list[dict]] = {}
        for alert in latest.values():
            if alert["status"] in ("open", "escalated"):
                by_detector.setdefault(alert["detector"], []).append(alert)
        if not by_detector:
            return None
        confirmed = max(by_detector.values(), key=len)
        others = [a for alerts in by_detector.values() if alerts is not confirmed for a in alerts]
        return (confirmed, others) if len(confirmed) >= 4 and len(others) >= 3 else None

    confirmed, others = wait_until(open_alerts, 120, "open alerts of the stateful detectors as well")
    split = len(confirmed) // 2

    def act(kind: str, alert: dict, disposition: str | None = None) -> tuple[str, bytes, bytes]:
        action = {"action": kind, "alert_id": alert["alert_id"], "subject": alert["subject"], "who": "risk-1",
                  "at": datetime.now(timezone.utc).isoformat()}
        return (topics.actions, *encode_action({**action, "disposition": disposition} if disposition else action))

    _send(system, [act("ack", others[0])] + [act("resolve", a, "confirmed") for a in confirmed[:split]])
    wait_until(lambda: prom.query('riskwatch_alert_dispositions_total{disposition="confirmed"}'), 60,
               "Prometheus to scrape the first dispositions")
    _send(system, [act("resolve", a, "confirmed") for a in confirmed[split:]] +
          [act("resolve", a, "false_positive") for a in others[1:3]])
    wait_until(lambda: prom.query('sum(riskwatch_alert_dispositions_total{disposition="false_positive"})'), 60,
               "Prometheus to scrape the second round")
    time.sleep(3)  # a few more scrapes and rule evaluations on the final figures
    end = time.time()

    assert [t["health"] for t in prom.targets()] == ["up"], prom.targets()
    failures = []
    rules = prom.rules()
    assert {r["type"] for r in rules} == {"recording", "alerting"}
    for rule in rules:
        if rule["health"] != "ok":
            failures.append(f"rule {rule['name']}: health {rule['health']}: {rule.get('lastError')}")
        if rule["type"] == "recording":
            result = prom.query(rule["query"], at=end)
            if not any(finite([s["value"]]) for s in result):
                failures.append(f"recording rule {rule['name']}: no data from {rule['query']!r}")
    targets = panel_targets()
    assert len(targets) >= 30 and {board for board, *_ in targets} == {"risk-overview", "pipeline-health"}
    for board, title, expr, instant in targets:
        query = with_variables(expr)
        if instant:
            ok = any(finite([s["value"]]) for s in prom.query(query, at=end))
        else:
            ok = any(finite(s["values"]) for s in prom.query_range(query, start=began, end=end, step=2))
        if not ok:
            failures.append(f"{board} / {title}: no data from {query!r}")
    assert not failures, "\n".join(failures) + f"\nPrometheus log:\n{prom.log_tail()}"

    # A healthy run raises none of the pipeline's own alerts.
    firing = [r["name"] for r in rules if r["type"] == "alerting" and r["state"] == "firing"]
    assert firing == []
