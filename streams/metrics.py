"""Every Prometheus metric riskwatch exports, as one bundle on a registry it is given.

Updated at the boundaries (per message, per alert), never inside detectors.
Labels are bounded sets: topics, event types, reasons, tiers, typologies;
never customer, policy or account identifiers.
"""
from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, Info, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from alerts.model import Alert


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
        self.alerts_emitted = Counter(
            "riskwatch_alerts_emitted_total", "Alerts published to the alert topic, per tier and typology.",
            ["tier", "typology"], registry=r)
        self.processing_seconds = Histogram(
            "riskwatch_processing_seconds", "Time from a message's arrival at the worker to its findings being done.",
            ["stage"], buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=r)
        self.build_info = Info("riskwatch_build", "riskwatch version and detector configuration version.",
                               registry=r)
        if version:
            self.build_info.info({"version": version})

    def alert(self, alert: Alert) -> None:
        self.alerts_emitted.labels(alert.tier.value, alert.typology).inc()

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


def scrape_progress(metrics_url: str, timeout_s: float = 2.0) -> ProgressCounts:
    """Fetch ``metrics_url`` and sum the progress counters. Raises OSError if unreachable."""
    with urllib.request.urlopen(metrics_url, timeout=timeout_s) as response:
        text = response.read().decode()
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
