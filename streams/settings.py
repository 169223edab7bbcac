"""The one settings object, built once at start-up from ``RISKWATCH_*`` variables.

Nothing else in riskwatch reads the environment: the CLI calls
:func:`load_settings` and passes the result down. faust also reads some
unprefixed variables by itself; :mod:`streams.app` hands it explicit values and
an empty environment so that only these settings decide.
"""
from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from detectors.config import ConfigError, DetectorConfig, load_detector_config

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


#: What Kafka accepts as a topic name.
_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    """The variable's value; unset or empty (``NAME=``) means the default."""
    raw = env.get(name)
    return default if raw is None or raw.strip() == "" else raw


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
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
    ``RISKWATCH_TOPIC_{POLICY,PAYMENT,COMPLAINT,ALERTS,KEYED}``. An empty
    variable counts as unset. A value riskwatch cannot use raises
    :class:`SettingsError` naming the variable.
    """
    env = os.environ if env is None else env
    defaults = TopicNames()
    names = {}
    for part in ("policy", "payment", "complaint", "alerts", "keyed"):
        variable = f"RISKWATCH_TOPIC_{part.upper()}"
        topic = _text(env, variable, getattr(defaults, part))
        if not _TOPIC_NAME.fullmatch(topic):
            raise SettingsError(f"{variable} must be 1 to 249 of A-Z a-z 0-9 . _ -, got {topic!r}")
        if topic in names.values():
            raise SettingsError(f"{variable}={topic!r} is already the topic of another stream")
        names[part] = topic
    topics = TopicNames(**names)
    clash = next((t for t in topics.inputs.values() if TopicNames.dead_letter(t) in names.values()), None)
    if clash is not None:
        raise SettingsError(f"RISKWATCH_TOPIC_*: {TopicNames.dead_letter(clash)!r} is the dead-letter topic of {clash!r}")
    profile = _text(env, "RISKWATCH_BROKER_PROFILE", "embedded")
    if profile not in ("embedded", "kafka"):
        raise SettingsError(f"RISKWATCH_BROKER_PROFILE must be 'embedded' or 'kafka', got {profile!r}")
    metrics_addr = _text(env, "RISKWATCH_METRICS_ADDR", "127.0.0.1:6066")
    host, sep, port = metrics_addr.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or int(port) > 65_535:
        raise SettingsError(f"RISKWATCH_METRICS_ADDR must be host:port with a port up to 65535, got {metrics_addr!r}")
    thresholds = _text(env, "RISKWATCH_THRESHOLDS", "")
    thresholds_path = Path(thresholds) if thresholds else None
    raw_skew = _text(env, "RISKWATCH_MAX_FUTURE_SKEW_S", "86400")
    try:
        skew = float(raw_skew)
    except ValueError:
        skew = math.nan
    if not (math.isfinite(skew) and skew >= 0):
        raise SettingsError(f"RISKWATCH_MAX_FUTURE_SKEW_S must be a number of seconds, 0 or more, got {raw_skew!r}")
    broker_url = _text(env, "RISKWATCH_BROKER_URL", DEFAULT_BROKER_URL)
    bootstrap_servers(broker_url)  # fail early on a malformed URL
    try:
        detectors = load_detector_config(thresholds_path)
    except ConfigError as exc:
        raise SettingsError(f"RISKWATCH_THRESHOLDS: {exc}") from None
    return Settings(
        broker_url=broker_url,
        topics=topics,
        partitions=_int(env, "RISKWATCH_PARTITIONS", 4),
        app_id=_text(env, "RISKWATCH_APP_ID", "riskwatch"),
        broker_profile=profile,
        metrics_host=host or "127.0.0.1",
        metrics_port=int(port),
        data_dir=Path(_text(env, "RISKWATCH_DATA_DIR", "riskwatch-data")),
        max_future_skew_s=skew,
        thresholds_file=thresholds_path,
        detectors=detectors,
    )
