"""The settings object, from a dict standing in for the environment."""
from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from detectors.config import DetectorConfig
from alerts.policy import AlertPolicyConfig
from streams.settings import Settings, SettingsError, TopicNames, bootstrap_servers, config_version, load_settings


def test_an_empty_environment_gives_the_defaults():
    assert load_settings({}) == Settings()
    settings = load_settings({})
    assert settings.broker_url == "kafka://127.0.0.1:9092"
    assert settings.bootstrap_servers == ["127.0.0.1:9092"]
    assert (settings.metrics_host, settings.metrics_port) == ("127.0.0.1", 6066)
    assert settings.partitions == 4
    assert settings.max_future_skew_s == 86_400.0
    assert settings.detectors == DetectorConfig()


def test_empty_variables_count_as_unset():
    names = ["BROKER_URL", "PARTITIONS", "APP_ID", "BROKER_PROFILE", "METRICS_ADDR", "DATA_DIR", "THRESHOLDS",
             "MAX_FUTURE_SKEW_S", "TOPIC_POLICY", "TOPIC_PAYMENT", "TOPIC_COMPLAINT", "TOPIC_ALERTS", "TOPIC_KEYED"]
    assert load_settings({f"RISKWATCH_{name}": "" for name in names}) == Settings()


def test_every_variable_overrides_its_setting(tmp_path):
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_bytes(orjson.dumps({"structuring": {"min_payments": 4}}))
    settings = load_settings({
        "RISKWATCH_BROKER_URL": "kafka://k1:9092;k2:9093",
        "RISKWATCH_PARTITIONS": "12",
        "RISKWATCH_APP_ID": "riskwatch-test",
        "RISKWATCH_BROKER_PROFILE": "kafka",
        "RISKWATCH_METRICS_ADDR": "0.0.0.0:9100",
        "RISKWATCH_DATA_DIR": "/var/lib/riskwatch",
        "RISKWATCH_THRESHOLDS": str(thresholds),
        "RISKWATCH_MAX_FUTURE_SKEW_S": "600",
        "RISKWATCH_TOPIC_POLICY": "p", "RISKWATCH_TOPIC_PAYMENT": "pay",
        "RISKWATCH_TOPIC_COMPLAINT": "c", "RISKWATCH_TOPIC_ALERTS": "a", "RISKWATCH_TOPIC_KEYED": "k",
        "RISKWATCH_TOPIC_SCORECARDS": "sc", "RISKWATCH_RUNBOOK_BASE_URL": "https://wiki.example/runbooks/",
        "UNRELATED": "ignored",
    })
    assert settings.bootstrap_servers == ["k1:9092", "k2:9093"]
    assert settings.partitions == 12
    assert settings.app_id == "riskwatch-test"
    assert settings.broker_profile == "kafka"
    assert (settings.metrics_host, settings.metrics_port) == ("0.0.0.0", 9100)
    assert settings.data_dir == Path("/var/lib/riskwatch")
    assert settings.thresholds_file == thresholds
    assert settings.detectors.structuring.min_payments == 4
    assert settings.detectors.version != DetectorConfig().version
    assert settings.max_future_skew_s == 600.0
    assert settings.topics == TopicNames(policy="p", payment="pay", complaint="c", alerts="a", keyed="k",
                                         scorecards="sc")
    assert settings.runbook_base_url == "https://wiki.example/runbooks"


def test_metrics_addr_without_a_host_listens_on_loopback():
    assert load_settings({"RISKWATCH_METRICS_ADDR": ":9100"}).metrics_host == "127.0.0.1"


def test_reads_the_process_environment_when_given_none(monkeypatch):
    monkeypatch.setenv("RISKWATCH_PARTITIONS", "7")
    assert load_settings().partitions == 7


@pytest.mark.parametrize(
    "variable, value",
    [
        ("RISKWATCH_PARTITIONS", "four"),
        ("RISKWATCH_PARTITIONS", "0"),
        ("RISKWATCH_PARTITIONS", "-2"),
        ("RISKWATCH_PARTITIONS", "4.0"),
        ("RISKWATCH_BROKER_PROFILE", "zookeeper"),
        ("RISKWATCH_METRICS_ADDR", "6066"),
        ("RISKWATCH_METRICS_ADDR", "localhost:http"),
        ("RISKWATCH_METRICS_ADDR", "localhost:70000"),
        ("RISKWATCH_MAX_FUTURE_SKEW_S", "a day"),
        ("RISKWATCH_MAX_FUTURE_SKEW_S", "-1"),
        ("RISKWATCH_MAX_FUTURE_SKEW_S", "nan"),
        ("RISKWATCH_MAX_FUTURE_SKEW_S", "inf"),
        ("RISKWATCH_BROKER_URL", "kafka://"),
        ("RISKWATCH_BROKER_URL", "kafka://;,"),
        ("RISKWATCH_TOPIC_POLICY", "policy events"),
        ("RISKWATCH_TOPIC_ALERTS", "a" * 250),
        ("RISKWATCH_TOPIC_ALERTS", "policy.events"),  # the policy stream's topic
        ("RISKWATCH_TOPIC_KEYED", "payment.events.dlq"),  # the payment stream's dead-letter topic
        ("RISKWATCH_THRESHOLDS", "/nonexistent/thresholds.json"),
        ("RISKWATCH_RUNBOOK_BASE_URL", "wiki/runbooks"),
    ],
)
def test_bad_values_raise_naming_the_variable(variable, value):
    with pytest.raises(SettingsError) as info:
        load_settings({variable: value})
    message = str(info.value)
    assert variable in message or (variable.startswith("RISKWATCH_TOPIC_") and "RISKWATCH_TOPIC_" in message)


@pytest.mark.parametrize(
    "content, message",
    [
        ({"structuring": {"windows": 1}}, "unknown field structuring.windows"),
        ({"nope": {}}, "unknown section 'nope'"),
        ({"complaint_spike": {"p_value": "small"}}, "complaint_spike.p_value must be float"),
    ],
)
def test_a_bad_thresholds_file_names_the_variable_and_the_field(tmp_path, content, message):
    path = tmp_path / "thresholds.json"
    path.write_bytes(orjson.dumps(content))
    with pytest.raises(SettingsError, match=message) as info:
        load_settings({"RISKWATCH_THRESHOLDS": str(path)})
    assert "RISKWATCH_THRESHOLDS" in str(info.value)


def test_thresholds_version_changes_only_with_a_threshold(tmp_path):
    path = tmp_path / "thresholds.json"
    path.write_bytes(orjson.dumps({"complaint_spike": {"window_s": 86_400}}))  # the default, as an int
    assert load_settings({"RISKWATCH_THRESHOLDS": str(path)}).detectors.version == DetectorConfig().version
    path.write_bytes(orjson.dumps({"complaint_spike": {"window_s": 43_200}}))
    assert load_settings({"RISKWATCH_THRESHOLDS": str(path)}).detectors.version != DetectorConfig().version


def test_bootstrap_servers_from_a_broker_url():
    assert bootstrap_servers("kafka://h1:1;h2:2") == ["h1:1", "h2:2"]
    assert bootstrap_servers("h1:1, h2:2") == ["h1:1", "h2:2"]


def test_topic_names():
    topics = TopicNames()
    assert topics.inputs == {"policy": "policy.events", "payment": "payment.events", "complaint": "complaint.events"}
    assert TopicNames.dead_letter("policy.events") == "policy.events.dlq"
    assert topics.all_topics() == [
        "policy.events", "payment.events", "complaint.events", "risk.alert-actions", "partner.registry",
        "policy.events.dlq", "payment.events.dlq", "complaint.events.dlq", "risk.alert-actions.dlq",
        "partner.registry.dlq",
        "risk.alerts", "risk.alerts.state", "riskwatch.keyed-events", "riskwatch.findings", "risk.scorecards",
    ]
    assert topics.compacted == {"risk.alerts.state", "partner.registry", "risk.scorecards"}


def test_with_broker_changes_only_the_broker():
    settings = Settings().with_broker("kafka://elsewhere:9092")
    assert settings.broker_url == "kafka://elsewhere:9092"
    assert settings.topics == TopicNames()


def test_config_version_follows_the_contents_of_rule_files(tmp_path):
    from detectors.config import apply_overrides

    phrases = tmp_path / "phrases.txt"
    phrases.write_text("稳赚不赔\n", encoding="utf-8")
    config = apply_overrides(DetectorConfig(), {"banned_phrases": {"phrases_file": str(phrases)}})
    before = config_version(config, AlertPolicyConfig())
    assert config_version(config, AlertPolicyConfig()) == before
    phrases.write_text("稳赚不赔\n保本保息\n", encoding="utf-8")
    assert config_version(config, AlertPolicyConfig()) != before
