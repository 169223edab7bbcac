"""whatif: a generated history where a changed structuring threshold removes and adds known alerts."""
from __future__ import annotations

import orjson
import pytest

from streams.cli import main
from streams.generator import GeneratorConfig, generate
from streams.whatif import whatif

BAND_LOW, THRESHOLD = 40_000.0, 50_000.0


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A small day with 5 structuring scenarios and their 5 look-alikes, one of each variant."""
    events, truth = generate(GeneratorConfig(seed=11, events=3_000, scenario_mix={"structuring": 5}))
    folder = tmp_path_factory.mktemp("whatif")
    path = folder / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(g.event) + b"\n" for g in events))
    configs = {}
    for name, overrides in (("default", {}), ("four", {"structuring": {"min_payments": 4}}),
                            ("two", {"structuring": {"min_payments": 2}})):
        configs[name] = folder / f"{name}.json"
        configs[name].write_bytes(orjson.dumps(overrides))
    # Cash payments just under the threshold per account: what min_payments is compared with.
    in_band: dict[str, int] = {}
    for g in events:
        e = g.event
        if (e["event_type"] == "premium_paid" and e.get("channel") == "cash"
                and BAND_LOW <= e["amount"] < THRESHOLD):
            in_band[e["payer_account_id"]] = in_band.get(e["payer_account_id"], 0) + 1
    structuring = [t for t in truth if t.typology == "structuring"]
    return path, configs, structuring, in_band


def _accounts(items):
    return {i["entity_id"] for i in items}


def test_raising_min_payments_removes_the_three_payment_scenarios(history):
    path, configs, truth, in_band = history
    result = whatif(path, configs["default"], configs["four"])
    three = {t.entity_id for t in truth if not t.benign and in_band[t.entity_id] == 3}
    assert three, "the fixture should hold a scenario of exactly three payments"
    assert _accounts(result["disappeared"]) == three
    assert {i["typology"] for i in result["disappeared"]} == {"structuring"}
    assert result["appeared"] == []
    # Nothing else moved: every other typology's counts are equal.
    assert all(r["a"] == r["b"] for r in result["counts"] if r["typology"] != "structuring")
    assert result["a"]["config_version"] != result["b"]["config_version"]


def test_lowering_min_payments_adds_the_two_payment_look_alike(history):
    path, configs, truth, in_band = history
    result = whatif(path, configs["default"], configs["two"])
    two = {t.entity_id for t in truth if t.benign and t.scenario_id.endswith("two_cash_in_band")}
    assert two, "the fixture should hold the two-payment look-alike"
    assert _accounts(result["appeared"]) == two
    assert result["disappeared"] == []
    structuring = {(r["tier"]): (r["a"], r["b"]) for r in result["counts"] if r["typology"] == "structuring"}
    assert sum(b - a for a, b in structuring.values()) == len(two)


def test_same_configuration_changes_nothing_and_the_command_prints_json(history, capsys):
    path, configs, _, _ = history
    assert main(["whatif", "--config", str(configs["default"]), "--config", str(configs["default"]),
                 str(path), "--json"]) == 0
    result = orjson.loads(capsys.readouterr().out)
    assert result["appeared"] == result["disappeared"] == result["tier_changed"] == []
    assert all(r["a"] == r["b"] for r in result["counts"])
    assert result["a"]["alerts"] == result["b"]["alerts"] > 0
    assert set(result) == {"events", "rejected", "a", "b", "counts", "appeared", "disappeared", "tier_changed",
                           "seconds"}


def test_an_unknown_threshold_is_an_error_naming_the_field(history, tmp_path, capsys):
    path, configs, _, _ = history
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps({"structuring": {"min_paymentz": 4}}))
    assert main(["whatif", "--config", str(configs["default"]), "--config", str(bad), str(path)]) == 2
    assert "min_paymentz" in capsys.readouterr().err
