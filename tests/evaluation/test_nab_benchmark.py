"""evaluate nab: our scorer cores stream over NAB-layout series and their results are scored as NAB scores."""
from __future__ import annotations

import numpy as np
import orjson
import pytest

from streams import nab
from streams.cli import main
from streams.nab_benchmark import DEFAULT_SCORER, SCORERS, epoch_seconds, evaluate_nab

PROFILE_NAMES = {p.name for p in nab.PROFILES}


def _write_series(path, start: str, values) -> list[str]:
    times = np.datetime64(start, "s") + np.arange(len(values)) * np.timedelta64(300, "s")
    texts = [str(t).replace("T", " ") for t in times]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("timestamp,value\n" + "".join(f"{t},{v}\n" for t, v in zip(texts, values)))
    return texts


@pytest.fixture()
def corpus(tmp_path):
    """Two categories: a level shift inside a window, and a file with no anomaly."""
    rng = np.random.default_rng(5)
    data = tmp_path / "data"
    shifted = np.concatenate([10 + rng.normal(0, 1, 300), 30 + rng.normal(0, 1, 100)])
    texts = _write_series(data / "synthetic" / "shift.csv", "2024-03-01 00:00:00", np.round(shifted, 3))
    _write_series(data / "quiet" / "flat_noise.csv", "2024-03-01 00:00:00", np.round(5 + rng.normal(0, 1, 250), 3))
    windows = {"synthetic/shift.csv": [[texts[290] + ".000000", texts[329] + ".000000"]], "quiet/flat_noise.csv": []}
    (tmp_path / "windows.json").write_bytes(orjson.dumps(windows))
    return data, tmp_path / "windows.json", tmp_path / "results"


def test_results_follow_nabs_layout_one_row_per_data_row(corpus):
    data, windows, out = corpus
    result = evaluate_nab(data, windows, out)
    for scorer in SCORERS:
        path = out / scorer.name / "synthetic" / f"{scorer.name}_shift.csv"
        lines = path.read_text().splitlines()
        assert lines[0] == "timestamp,anomaly_score" and len(lines) == 401
        data_times = [line.split(",")[0] for line in (data / "synthetic" / "shift.csv").read_text().splitlines()]
        assert [line.split(",")[0] for line in lines] == ["timestamp"] + data_times[1:]
        scores = np.array([float(line.split(",")[1]) for line in lines[1:]])
        assert np.all((scores >= 0) & (scores < 1))
    assert result["default_scorer"] == DEFAULT_SCORER
    assert set(result["scorers"]) == {s.name for s in SCORERS}
    assert all(set(by) == PROFILE_NAMES for by in result["scorers"].values())


def test_written_results_score_the_same_as_nabs_scorer_reads_them(corpus):
    data, windows, out = corpus
    result = evaluate_nab(data, windows, out)
    series = nab.load_labelled(data, windows)
    for scorer in SCORERS:
        again = nab.score_detector(series, nab.read_results(out, scorer.name, series))
        assert {p: round(r.score, 2) for p, r in again.items()} == result["scorers"][scorer.name]


def test_a_level_shift_in_a_window_is_found_by_the_default_scorer(corpus):
    data, windows, out = corpus
    assert evaluate_nab(data, windows, out)["scorers"][DEFAULT_SCORER]["standard"] > 80


@pytest.mark.parametrize("scorer", SCORERS, ids=lambda s: s.name)
def test_no_look_ahead_a_prefix_scores_as_the_start_of_the_whole(scorer):
    rng = np.random.default_rng(1)
    values = np.abs(rng.normal(50, 10, 400))
    times = epoch_seconds(np.datetime64("2024-01-01T00:00:00", "us") + np.arange(400) * np.timedelta64(5, "m"))
    whole = scorer.run(times, values)
    assert np.array_equal(scorer.run(times[:250], values[:250]), whole[:250])


def test_the_command_prints_the_documented_json(corpus, capsys):
    data, windows, out = corpus
    assert main(["evaluate", "nab", "--data", str(data), "--windows", str(windows), "--out", str(out), "--json"]) == 0
    printed = orjson.loads(capsys.readouterr().out)
    assert set(printed) == {"default_scorer", "scorers"}
    assert printed["default_scorer"] == DEFAULT_SCORER
    assert set(printed["scorers"][DEFAULT_SCORER]) == PROFILE_NAMES


def test_a_series_without_windows_is_an_error_naming_it(corpus, capsys):
    data, windows, out = corpus
    (data / "quiet" / "extra.csv").write_text("timestamp,value\n2024-03-01 00:00:00,1\n")
    assert main(["evaluate", "nab", "--data", str(data), "--windows", str(windows), "--out", str(out)]) == 2
    assert "quiet/extra.csv" in capsys.readouterr().err


def test_select_prints_the_rule_and_its_held_out_figures(corpus, capsys):
    data, windows, out = corpus
    assert main(["evaluate", "nab", "--data", str(data), "--windows", str(windows), "--out", str(out), "--select",
                 "--json"]) == 0
    printed = orjson.loads(capsys.readouterr().out)
    assert set(printed) == {"default", "nested", "in_sample", "candidates", "seconds"}
    assert set(printed["nested"]) == {"synthetic", "overall"}  # the one category with a window, held out
    assert printed["default"]["name"] in printed["candidates"] and set(printed["in_sample"]) == PROFILE_NAMES
    assert not out.exists()  # --select writes no results
