"""Every Prometheus metric riskwatch exports, as one bundle on a registry it is given.

Updated at the boundaries (per message, per alert), never inside detectors.
Labels are bounded sets: topics, event types, reasons, tiers, typologies;
never customer, policy or account identifiers.
"""
from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from alerts.book import Outcome
from alerts.model import Alert, AlertStatus
from alerts.scorecards import KPI_DIRECTION

#: Scorecard figures exported as gauges.
SCORECARD_KPIS = ("policies", "premium_received", "claims_paid", "complaints", *KPI_DIRECTION)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None, version: str = "") -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.events_consumed = Counter(
            "riskwatch_events_consumed_total", "Events decoded and processed, per input topic and event type.",
            ["topic", "event_type"], registry=r)
        self.keyed_events = Counter(
            "riskwatch_keyed_events_total",
            "Events processed by stateful detectors after re-keying by entity, per keyspace.",
            ["keyspace"], registry=r)
        self.events_rejected = Counter(
            "riskwatch_events_rejected_total", "Messages sent to the dead-letter topic, per input topic and reason.",
            ["topic", "reason"], registry=r)
        self.sales = Counter(
            "riskwatch_sales_total", "Sales recorded (sale_recorded events), per partner ('none' when direct).",
            ["partner"], registry=r)
        self.complaints = Counter(
            "riskwatch_complaints_total", "Complaints filed and resolved, per status.", ["status"], registry=r)
        self.findings = Counter(
            "riskwatch_findings_total", "Detector findings (before dedupe and suppression), per typology and partner.",
            ["typology", "partner"], registry=r)
        self.alerts_emitted = Counter(
            "riskwatch_alerts_emitted_total", "Alerts opened (published with status open), per tier and typology.",
            ["tier", "typology"], registry=r)
        self.alerts_by_branch = Counter(
            "riskwatch_alerts_by_branch_total", "Alerts opened, per tier and branch ('none' when unknown).",
            ["tier", "branch"], registry=r)
        self.alerts_by_partner = Counter(
            "riskwatch_alerts_by_partner_total", "Alerts opened, per tier and partner ('none' when unknown).",
            ["tier", "partner"], registry=r)
        self.scorecard_items = Counter(
            "riskwatch_scorecard_items_total", "Events, alert records and requests folded into the scorecards, "
            "per kind (scorecard, scorecard-alert, scorecard-request).", ["kind"], registry=r)
        self.scorecards_published = Counter(
            "riskwatch_scorecards_published_total",
            "Scorecards published to risk.scorecards, per scope (partner, branch) and reason (close, request).",
            ["scope", "reason"], registry=r)
        self.scorecard_kpi = Gauge(
            "riskwatch_scorecard_kpi", "A figure of the latest scorecard published, per scope, partner or branch id "
            "and KPI (rates as shares, money in CNY).", ["scope", "id", "kpi"], registry=r)
        self.scorecard_below_target = Gauge(
            "riskwatch_scorecard_below_target", "KPIs below target on the latest scorecard published, per scope and id.",
            ["scope", "id"], registry=r)
        self.alert_records = Counter(
            "riskwatch_alert_records_total", "Alert lifecycle records published, per status.", ["status"], registry=r)
        self.open_alerts = Gauge(
            "riskwatch_open_alerts", "Alerts opened and not yet resolved by this worker, per tier.", ["tier"],
            registry=r)
        self.escalations = Counter(
            "riskwatch_alert_escalations_total",
            "Response-deadline breaches: an alert not acknowledged in time was escalated, per tier.", ["tier"],
            registry=r)
        self.suppressed_findings = Counter(
            "riskwatch_suppressed_findings_total", "Findings swallowed by an active suppression, per typology.",
            ["detector", "typology"], registry=r)
        self.dispositions = Counter(
            "riskwatch_alert_dispositions_total",
            "Alerts resolved by people, per detector and disposition (confirmed or false_positive): "
            "confirmed precision = confirmed / all.", ["detector", "disposition"], registry=r)
        self.alertmanager_pushes = Counter(
            "riskwatch_alertmanager_pushes_total", "Pushes of alerts to Alertmanager, per result.", ["result"],
            registry=r)
        self.alertmanager_dropped = Counter(
            "riskwatch_alertmanager_dropped_total",
            "Alerts dropped from a full Alertmanager queue (still on the alert topic).", registry=r)
        self.processing_seconds = Histogram(
            "riskwatch_processing_seconds", "Time from a message's arrival at the worker to its findings being done.",
            ["stage"], buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=r)
        self.event_lag = Histogram(
            "riskwatch_event_lag_seconds",
            "Event-time lag of opened alerts: wall time the alert was emitted minus the event time behind it.",
            buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86_400, 3 * 86_400, 7 * 86_400),
            registry=r)
        self.ready = Gauge(
            "riskwatch_worker_ready",
            "1 when the worker has its partitions and has recovered its tables; 0 during start and rebalance.",
            registry=r)
        self.sources_paused = Gauge(
            "riskwatch_input_partitions_paused",
            "Input partitions not read for now: their events run ahead of the slowest busy one (streams/alignment.py).",
            registry=r)
        self.build_info = Info("riskwatch_build", "riskwatch version and detector configuration version.",
                               registry=r)
        if version:
            self.build_info.info({"version": version})

    def business_event(self, event_type: str, partner_id: str | None) -> None:
        """Counts behind the business KPIs (compliance rate, complaint handling on time)."""
        if event_type == "sale_recorded":
            self.sales.labels(partner_id or "none").inc()
        elif event_type == "complaint_filed":
            self.complaints.labels("filed").inc()
        elif event_type == "complaint_resolved":
            self.complaints.labels("resolved").inc()

    def alert_outcome(self, outcome: Outcome) -> None:
        """Count what one step of the alert book produced."""
        for alert in outcome.records:
            self.alert_record(alert)
        for detector, typology in outcome.suppressed:
            self.suppressed_findings.labels(detector, typology).inc()
        for verdict in outcome.dispositions:
            self.dispositions.labels(verdict.detector, verdict.disposition).inc()
        for before, after in outcome.tier_moves:
            if before is not None:
                self.open_alerts.labels(before).dec()
            if after is not None:
                self.open_alerts.labels(after).inc()

    def alert_record(self, alert: Alert) -> None:
        tier = alert.tier.value
        self.alert_records.labels(alert.status.value).inc()
        if alert.status == AlertStatus.OPEN and alert.count == 1:
            self.event_lag.observe(max(0.0, alert.emitted_at - alert.event_time))
            self.alerts_emitted.labels(tier, alert.typology).inc()
            self.alerts_by_branch.labels(tier, alert.branch_id or "none").inc()
            self.alerts_by_partner.labels(tier, alert.partner_id or "none").inc()
        elif alert.status == AlertStatus.ESCALATED:
            self.escalations.labels(tier).inc()

    def scorecard_published(self, card: dict, reason: str) -> None:
        """A scorecard sent to ``risk.scorecards``; its figures as gauges (partner and branch ids are bounded)."""
        self.scorecards_published.labels(card["scope"], reason).inc()
        for kpi in SCORECARD_KPIS:
            if card.get(kpi) is not None:
                self.scorecard_kpi.labels(card["scope"], card["id"], kpi).set(card[kpi])
        self.scorecard_below_target.labels(card["scope"], card["id"]).set(len(card["below_target"]))

    def alertmanager_result(self, ok: bool, count: int) -> None:
        self.alertmanager_pushes.labels("success" if ok else "failure").inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


@dataclass
class ProgressCounts:
    """The worker's progress, read back from its /metrics (demo display, tests)."""

    consumed_per_topic: dict[str, float] = field(default_factory=dict)
    rejected: float = 0.0
    keyed: float = 0.0
    alerts: float = 0.0

    @property
    def consumed(self) -> float:
        return sum(self.consumed_per_topic.values())


def _scrape(metrics_url: str, timeout_s: float) -> str:
    with urllib.request.urlopen(metrics_url, timeout=timeout_s) as response:
        return response.read().decode()


def scrape_samples(metrics_url: str, name: str, timeout_s: float = 2.0) -> list:
    """The samples named ``name`` on ``metrics_url`` now. Raises OSError if unreachable."""
    return [sample for family in text_string_to_metric_families(_scrape(metrics_url, timeout_s))
            for sample in family.samples if sample.name == name]


def scrape_progress(metrics_url: str, timeout_s: float = 2.0) -> ProgressCounts:
    """Fetch ``metrics_url`` and sum the progress counters. Raises OSError if unreachable."""
    text = _scrape(metrics_url, timeout_s)
    counts = ProgressCounts()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "riskwatch_events_consumed_total":
                topic = sample.labels["topic"]
                counts.consumed_per_topic[topic] = counts.consumed_per_topic.get(topic, 0.0) + sample.value
            elif sample.name == "riskwatch_events_rejected_total":
                counts.rejected += sample.value
            elif sample.name == "riskwatch_keyed_events_total":
                counts.keyed += sample.value
            elif sample.name == "riskwatch_alerts_emitted_total":
                counts.alerts += sample.value
    return counts


class WorkerCollector:
    """Figures read at scrape time, so that the event path pays nothing for them:
    consumer lag per topic and partition, detector evaluation time, and the
    entities each detector holds state for.

    ``lag`` returns ``{(topic, partition): messages behind the high watermark}``;
    ``timings`` is the engine's ``{detector: [seconds, calls]}``; ``state_keys``
    returns the state keys (``"<detector>|<entity>"``). Counting state keys
    walks the table, so it is cached for ``state_every_s``.
    """

    def __init__(self, lag, timings, state_keys, state_every_s: float = 15.0) -> None:
        self.lag = lag
        self.timings = timings
        self.state_keys = state_keys
        self.state_every_s = state_every_s
        self._state_counts: dict[str, int] = {}
        self._state_at = float("-inf")

    def describe(self):
        return []

    def collect(self):
        import time

        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        lag = GaugeMetricFamily("riskwatch_consumer_lag", "Messages between the consumer's position and the "
                                "partition's high watermark, per topic and partition.", labels=["topic", "partition"])
        for (topic, partition), behind in sorted(self.lag().items()):
            lag.add_metric([topic, str(partition)], behind)
        yield lag
        seconds = CounterMetricFamily("riskwatch_detector_seconds", "Time spent in each detector's observe().",
                                      labels=["detector"])
        calls = CounterMetricFamily("riskwatch_detector_evaluations", "Events each detector has observed.",
                                    labels=["detector"])
        for name, (spent, count) in sorted((self.timings or {}).items()):
            seconds.add_metric([name], spent)
            calls.add_metric([name], count)
        yield seconds
        yield calls
        now = time.monotonic()
        # Counting walks every key, hence the 15 s cache; while nothing is counted the walk is
        # short, so a worker that has just started shows its first entities at the next scrape.
        if now - self._state_at >= self.state_every_s or not self._state_counts:
            counts: dict[str, int] = {}
            for key in self.state_keys():
                name = key.partition("|")[0]
                counts[name] = counts.get(name, 0) + 1
            self._state_counts, self._state_at = counts, now
        entities = GaugeMetricFamily("riskwatch_state_entities", "Entities each detector keeps state for, in this "
                                     "worker (refreshed every 15 s).", labels=["detector"])
        for name, count in sorted(self._state_counts.items()):
            entities.add_metric([name], count)
        yield entities
