"""Every Prometheus metric riskwatch exports, as one bundle on a registry it is given.

Updated at the boundaries (per message, per alert), never inside detectors.
Labels are bounded sets: topics, event types, reasons, tiers, typologies;
never customer, policy or account identifiers.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, Info, generate_latest

from alerts.model import Alert


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None, version: str = "") -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.events_consumed = Counter(
            "riskwatch_events_consumed_total", "Events decoded and processed, per input topic and event type.",
            ["topic", "event_type"], registry=r)
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
