"""The one settings object, built once at start-up from ``RISKWATCH_*`` variables.

Nothing else in riskwatch reads the environment: the CLI calls
:func:`load_settings` and passes the result down. faust also reads some
unprefixed variables by itself; :mod:`streams.app` hands it explicit values and
an empty environment so that only these settings decide.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from detectors.config import DetectorConfig, load_detector_config

DEFAULT_BROKER_URL = "kafka://127.0.0.1:9092"


class SettingsError(ValueError):
    """A ``RISKWATCH_*`` variable has a value riskwatch cannot use."""


@dataclass(frozen=True, slots=True)
class TopicNames:
    policy: str = "policy.events"
    payment: str = "payment.events"
    complaint: str = "complaint.events"
    alerts: str = "risk.alerts"
    #: Internal topic that re-keys events by the entity a stateful detector
    #: keeps state for (account, agent, ...), so that state for one entity
    #: always lives in one partition.
    keyed: str = "riskwatch.keyed-events"

    @property
    def inputs(self) -> dict[str, str]:
        """Stream name (``policy``, ``payment``, ``complaint``) to topic."""
        return {"policy": self.policy, "payment": self.payment, "complaint": self.complaint}

    @staticmethod
    def dead_letter(topic: str) -> str:
        return f"{topic}.dlq"

    def all_topics(self) -> list[str]:
        inputs = list(self.inputs.values())
        return [*inputs, *(self.dead_letter(t) for t in inputs), self.alerts, self.keyed]


@dataclass(frozen=True, slots=True)
class Settings:
    broker_url: str = DEFAULT_BROKER_URL
    topics: TopicNames = field(default_factory=TopicNames)
    partitions: int = 4
    app_id: str = "riskwatch"
    #: ``embedded`` tunes timeouts for the Tansu broker (slow first group join);
    #: ``kafka`` keeps the client defaults for Apache Kafka.
    broker_profile: str = "embedded"
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 6066
    data_dir: Path = Path("riskwatch-data")
    #: Events whose event time lies further than this ahead of the processing
    #: clock are rejected as absurd (seconds).
    max_future_skew_s: float = 86_400.0
    thresholds_file: Path | None = None
    detectors: DetectorConfig = field(default_factory=DetectorConfig)

    def with_broker(self, broker_url: str) -> "Settings":
        return replace(self, broker_url=broker_url)

    @property
    def bootstrap_servers(self) -> list[str]:
        """``host:port`` list for kafka-python from ``kafka://h1:p1;h2:p2``."""
        return bootstrap_servers(self.broker_url)


def bootstrap_servers(broker_url: str) -> list[str]:
    rest = broker_url.split("://", 1)[-1]
    servers = [s.strip() for s in rest.replace(";", ",").split(",") if s.strip()]
    if not servers:
        raise SettingsError(f"RISKWATCH_BROKER_URL has no host:port: {broker_url!r}")
    return servers


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default: the process environment).

    Variables (all optional): ``RISKWATCH_BROKER_URL``, ``RISKWATCH_PARTITIONS``,
    ``RISKWATCH_APP_ID``, ``RISKWATCH_BROKER_PROFILE`` (``embedded`` or
    ``kafka``), ``RISKWATCH_METRICS_ADDR`` (``host:port``),
    ``RISKWATCH_DATA_DIR``, ``RISKWATCH_THRESHOLDS`` (a JSON file overriding
    detector defaults), ``RISKWATCH_MAX_FUTURE_SKEW_S`` and
    ``RISKWATCH_TOPIC_{POLICY,PAYMENT,COMPLAINT,ALERTS,KEYED}``.
    """
    env = os.environ if env is None else env
    defaults = TopicNames()
    topics = TopicNames(
        policy=env.get("RISKWATCH_TOPIC_POLICY", defaults.policy),
        payment=env.get("RISKWATCH_TOPIC_PAYMENT", defaults.payment),
        complaint=env.get("RISKWATCH_TOPIC_COMPLAINT", defaults.complaint),
        alerts=env.get("RISKWATCH_TOPIC_ALERTS", defaults.alerts),
        keyed=env.get("RISKWATCH_TOPIC_KEYED", defaults.keyed),
    )
    profile = env.get("RISKWATCH_BROKER_PROFILE", "embedded")
    if profile not in ("embedded", "kafka"):
        raise SettingsError(f"RISKWATCH_BROKER_PROFILE must be 'embedded' or 'kafka', got {profile!r}")
    metrics_addr = env.get("RISKWATCH_METRICS_ADDR", "127.0.0.1:6066")
    host, sep, port = metrics_addr.rpartition(":")
    if not sep or not port.isdigit():
        raise SettingsError(f"RISKWATCH_METRICS_ADDR must be host:port, got {metrics_addr!r}")
    thresholds = env.get("RISKWATCH_THRESHOLDS") or None
    thresholds_path = Path(thresholds) if thresholds else None
    try:
        skew = float(env.get("RISKWATCH_MAX_FUTURE_SKEW_S", "86400"))
    except ValueError:
        raise SettingsError("RISKWATCH_MAX_FUTURE_SKEW_S must be a number of seconds") from None
    broker_url = env.get("RISKWATCH_BROKER_URL", DEFAULT_BROKER_URL)
    bootstrap_servers(broker_url)  # fail early on a malformed URL
    return Settings(
        broker_url=broker_url,
        topics=topics,
        partitions=_int(env, "RISKWATCH_PARTITIONS", 4),
        app_id=env.get("RISKWATCH_APP_ID", "riskwatch"),
        broker_profile=profile,
        metrics_host=host or "127.0.0.1",
        metrics_port=int(port),
        data_dir=Path(env.get("RISKWATCH_DATA_DIR", "riskwatch-data")),
        max_future_skew_s=skew,
        thresholds_file=thresholds_path,
        detectors=load_detector_config(thresholds_path),
    )
