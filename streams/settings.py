"""The one settings object, built once at start-up from ``RISKWATCH_*`` variables.

Nothing else in riskwatch reads the environment: the CLI calls
:func:`load_settings` and passes the result down. faust also reads some
unprefixed variables by itself; :mod:`streams.app` hands it explicit values and
an empty environment so that only these settings decide.
"""
from __future__ import annotations

import hashlib
import math
from importlib import resources
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace

import orjson
from pathlib import Path

from alerts.policy import AlertPolicyConfig
from detectors.config import ConfigError, DetectorConfig, apply_overrides, overlay_section, read_thresholds
from streams.kafka_security import KafkaSecurity, SecurityError, load_security

DEFAULT_BROKER_URL = "kafka://127.0.0.1:9092"
#: Placeholder host (like the schemas' $id): set RISKWATCH_RUNBOOK_BASE_URL to where deploy/runbooks is published.
DEFAULT_RUNBOOK_BASE_URL = "https://riskwatch.example/runbooks"


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
    #: Latest record of each alert, keyed by alert id (compacted on Apache Kafka).
    alert_state: str = "risk.alerts.state"
    #: ack / resolve / suppress actions from other services, keyed by the alert's subject.
    actions: str = "risk.alert-actions"
    #: Internal topic carrying detector findings to the alert stage, keyed by subject.
    findings: str = "riskwatch.findings"
    #: Partner registry records, keyed by partner id (compacted: the latest record is the partner's).
    partner_registry: str = "partner.registry"
    #: Partner and branch scorecards per quarter, keyed ``scope:id:period`` (compacted: the latest).
    scorecards: str = "risk.scorecards"

    @property
    def inputs(self) -> dict[str, str]:
        """Stream name (``policy``, ``payment``, ``complaint``) to topic."""
        return {"policy": self.policy, "payment": self.payment, "complaint": self.complaint}

    @staticmethod
    def dead_letter(topic: str) -> str:
        return f"{topic}.dlq"

    @property
    def consumed(self) -> list[str]:
        """Topics whose bad messages are dead-lettered: the inputs and the actions."""
        return [*self.inputs.values(), self.actions, self.partner_registry]

    def all_topics(self) -> list[str]:
        consumed = self.consumed
        return [*consumed, *(self.dead_letter(t) for t in consumed), self.alerts, self.alert_state, self.keyed,
                self.findings, self.scorecards]

    @property
    def compacted(self) -> set[str]:
        return {self.alert_state, self.partner_registry, self.scorecards}


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
    alert_policy: AlertPolicyConfig = field(default_factory=AlertPolicyConfig)
    #: Alertmanager base URL for paging high and critical alerts; None: no paging.
    alertmanager_url: str | None = None
    #: Where ``deploy/runbooks/`` is published: every alert links ``<base>/<typology>.md``.
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL
    #: TLS and SASL for every Kafka connection (faust's and kafka-python's); secrets stay out of repr.
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)

    @property
    def kafka_client_config(self) -> dict:
        """Security keyword arguments for every kafka-python client riskwatch creates."""
        return self.kafka_security.kafka_python_config()

    @property
    def config_version(self) -> str:
        return config_version(self.detectors, self.alert_policy)

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
    ``RISKWATCH_ALERTMANAGER_URL`` (e.g. ``http://127.0.0.1:9093``; unset: no paging) and
    ``RISKWATCH_TOPIC_{POLICY,PAYMENT,COMPLAINT,ALERTS,KEYED,ALERT_STATE,ACTIONS,FINDINGS,PARTNER_REGISTRY,SCORECARDS}``,
    ``RISKWATCH_RUNBOOK_BASE_URL`` (where ``deploy/runbooks`` is published; each alert links
    ``<base>/<typology>.md``). An empty
    variable counts as unset. A value riskwatch cannot use raises
    :class:`SettingsError` naming the variable.
    """
    env = os.environ if env is None else env
    defaults = TopicNames()
    names = {}
    for part in ("policy", "payment", "complaint", "alerts", "keyed", "alert_state", "actions", "findings",
                 "partner_registry", "scorecards"):
        variable = f"RISKWATCH_TOPIC_{part.upper()}"
        topic = _text(env, variable, getattr(defaults, part))
        if not _TOPIC_NAME.fullmatch(topic):
            raise SettingsError(f"{variable} must be 1 to 249 of A-Z a-z 0-9 . _ -, got {topic!r}")
        if topic in names.values():
            raise SettingsError(f"{variable}={topic!r} is already the topic of another stream")
        names[part] = topic
    topics = TopicNames(**names)
    clash = next((t for t in topics.consumed if TopicNames.dead_letter(t) in names.values()), None)
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
        detectors, alert_policy = load_thresholds(thresholds_path)
    except ConfigError as exc:
        raise SettingsError(f"RISKWATCH_THRESHOLDS: {exc}") from None
    alertmanager_url = _text(env, "RISKWATCH_ALERTMANAGER_URL", "") or None
    if alertmanager_url is not None and not alertmanager_url.startswith(("http://", "https://")):
        raise SettingsError(f"RISKWATCH_ALERTMANAGER_URL must be an http(s) URL, got {alertmanager_url!r}")
    runbook_base_url = _text(env, "RISKWATCH_RUNBOOK_BASE_URL", DEFAULT_RUNBOOK_BASE_URL).rstrip("/")
    if not runbook_base_url.startswith(("http://", "https://")):
        raise SettingsError(f"RISKWATCH_RUNBOOK_BASE_URL must be an http(s) URL, got {runbook_base_url!r}")
    try:
        kafka_security = load_security(env)
    except SecurityError as exc:
        raise SettingsError(str(exc)) from None
    return Settings(
        kafka_security=kafka_security,
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
        alert_policy=alert_policy,
        alertmanager_url=alertmanager_url,
        runbook_base_url=runbook_base_url,
    )


def load_thresholds(path: Path | None) -> tuple[DetectorConfig, AlertPolicyConfig]:
    """Detector thresholds and the alert policy: defaults, overlaid with the
    file's sections (``alert_policy`` for the policy, the rest for detectors)."""
    if path is None:
        return DetectorConfig(), AlertPolicyConfig()
    overrides = read_thresholds(path)
    policy = overlay_section("alert_policy", AlertPolicyConfig(), overrides.pop("alert_policy", {}))
    return apply_overrides(DetectorConfig(), overrides), policy


def config_version(detectors: DetectorConfig, policy: AlertPolicyConfig) -> str:
    """Short hash of every threshold and rule in force: carried by every alert.

    Rules kept in data files count by content, not by name: the files shipped
    in ``detectors/data/`` and any ``*_file`` a section points at instead."""
    digest = hashlib.sha256()
    settings = detectors.as_dict()
    digest.update(orjson.dumps({"detectors": settings, "alert_policy": asdict(policy)}, option=orjson.OPT_SORT_KEYS))
    shipped = resources.files("detectors").joinpath("data")
    for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
        if entry.is_file():
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    for path in sorted(_rule_files(settings)):
        try:
            digest.update(path.encode() + b"\0" + Path(path).read_bytes())
        except OSError:
            digest.update(path.encode())  # the detector itself reports the missing file at start
    return digest.hexdigest()[:12]


def _rule_files(section: object) -> set[str]:
    """Every non-empty ``*_file`` value in a nested configuration dict."""
    found: set[str] = set()
    if isinstance(section, dict):
        for key, value in section.items():
            if key.endswith("_file") and isinstance(value, str) and value:
                found.add(value)
            else:
                found |= _rule_files(value)
    return found
