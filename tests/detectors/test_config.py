"""Detector thresholds: defaults, the JSON overlay, and the version hash alerts carry."""
from __future__ import annotations

import re

import orjson
import pytest

from detectors.config import ConfigError, DetectorConfig, apply_overrides, load_detector_config


def test_defaults_are_the_documented_figures():
    config = DetectorConfig()
    assert config.structuring.thresholds_cny == {"cash": 50_000.0}
    assert config.structuring.window_s == 72 * 3600.0
    assert config.complaint_spike.window_s == 24 * 3600.0
    assert config.banned_phrases.tier == "critical"


def test_version_is_a_short_stable_hash():
    version = DetectorConfig().version
    assert re.fullmatch(r"[0-9a-f]{12}", version)
    assert DetectorConfig().version == version
    assert apply_overrides(DetectorConfig(), {}).version == version


@pytest.mark.parametrize(
    "overrides",
    [
        {"structuring": {"window_s": 86_400}},
        {"structuring": {"thresholds_cny": {"cash": 40_000}}},
        {"complaint_spike": {"p_value": 1e-3}},
        {"banned_phrases": {"context_chars": 20}},
    ],
)
def test_version_changes_when_a_threshold_changes(overrides):
    assert apply_overrides(DetectorConfig(), overrides).version != DetectorConfig().version


@pytest.mark.parametrize(
    "overrides",
    [
        # The defaults written out, as an int where the default is a float.
        {"structuring": {"window_s": 259_200, "band": 0.2, "min_payments": 3}},
        {"structuring": {"thresholds_cny": {"cash": 50_000}}},
        {"complaint_spike": {"retention_s": 15_552_000}},
    ],
)
def test_version_is_unchanged_when_the_values_are_the_defaults(overrides):
    assert apply_overrides(DetectorConfig(), overrides).version == DetectorConfig().version


def test_overlay_keeps_the_other_fields_and_sections():
    config = apply_overrides(DetectorConfig(), {"structuring": {"window_s": 86_400}})
    assert config.structuring.window_s == 86_400.0
    assert isinstance(config.structuring.window_s, float)
    assert config.structuring.band == 0.2
    assert config.complaint_spike == DetectorConfig().complaint_spike


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"structuringg": {}}, "unknown section 'structuringg'"),
        ({"structuring": {"windows": 1}}, "unknown field structuring.windows"),
        ({"structuring": []}, "section 'structuring' must be an object"),
        ({"structuring": {"window_s": "86400"}}, "structuring.window_s must be float"),
        ({"structuring": {"window_s": True}}, "structuring.window_s must be float"),
        ({"structuring": {"min_payments": 3.5}}, "structuring.min_payments must be int"),
        ({"structuring": {"min_payments": True}}, "structuring.min_payments must be int"),
        ({"structuring": {"thresholds_cny": 50_000}}, "structuring.thresholds_cny must be dict"),
        ({"structuring": {"thresholds_cny": {"cash": "50000"}}}, r"thresholds_cny\['cash'\]"),
        ({"structuring": {"band": 1.5}}, "structuring: band"),
        ({"complaint_spike": {"prior_days": 0}}, "complaint_spike: prior_days"),
        ({"banned_phrases": {"tier": "purple"}}, "banned_phrases: 'purple'"),
        ({"banned_phrases": {"context_chars": 41}}, "banned_phrases: context_chars"),
    ],
)
def test_bad_overrides_name_the_field(overrides, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(DetectorConfig(), overrides)


def test_load_without_a_file_gives_the_defaults():
    assert load_detector_config(None) == DetectorConfig()


def test_load_overlays_the_file(tmp_path):
    path = tmp_path / "thresholds.json"
    path.write_bytes(orjson.dumps({"complaint_spike": {"min_complaints": 4}}))
    config = load_detector_config(path)
    assert config.complaint_spike.min_complaints == 4
    assert config.version != DetectorConfig().version


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "No such file"),
        (b"{not json", "is not valid JSON"),
        (b"[1, 2]", "must hold a JSON object"),
        (b'{"complaint_spike": {"window_s": NaN}}', "is not valid JSON"),
    ],
)
def test_load_errors_name_the_file(tmp_path, content, message):
    path = tmp_path / "thresholds.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_detector_config(path)
    assert str(path) in str(info.value)
