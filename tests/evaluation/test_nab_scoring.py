"""NAB scoring: rules worked by hand, and the reference detectors' developer-split table reproduced."""
from __future__ import annotations

import math

import numpy as np
import orjson
import pytest

from streams import nab

#: shared/data/nab/README.md, "On the developer split alone": sweep on these 34 files,
#: normalised with this split's null and perfect scores.
DEVELOPER_SPLIT = {
    "numenta": (73.6, 68.4, 77.0),
    "twitterADVec": (43.5, 30.6, 50.4),
    "skyline": (38.6, 28.5, 43.0),
    "windowedGaussian": (35.0, 16.7, 43.3),
    "bayesChangePt": (34.3, 14.7, 49.6),
    "random": (13.2, 3.4, 21.8),
}
STANDARD, LOW_FP, LOW_FN = nab.PROFILES


def S(x: float) -> float:
    return -1.0 if x > 3 else 2 / (1 + math.exp(5 * x)) - 1


def _series(rows: int, windows: list[tuple[int, int]]) -> nab.Series:
    times = np.datetime64("2024-01-01T00:00:00", "us") + np.arange(rows) * np.timedelta64(5, "m")
    return nab.Series("cat/f.csv", times, tuple(windows))


def test_probationary_period_is_15_percent_capped_at_750_rows():
    assert nab.probationary_length(20) == 3
    assert nab.probationary_length(4730) == 709
    assert nab.probationary_length(10_000) == 750


def test_profiles_are_nabs(nab_dir):
    published = orjson.loads((nab_dir / "config" / "profiles.json").read_bytes())
    for p in nab.PROFILES:
        matrix = published[p.name]["CostMatrix"]
        assert (p.tp_weight, p.fn_weight, p.fp_weight) == (matrix["tpWeight"], matrix["fnWeight"], matrix["fpWeight"])


def test_one_file_worked_by_hand():
    # 20 rows: rows 0-2 probationary; one window, rows 10-13 (w = 4).
    series = _series(20, [(10, 13)])
    scores = np.zeros(20)
    scores[1] = 0.95  # probationary: never counts
    scores[5] = 0.9  # before any window: a full false positive
    scores[11] = 0.8  # second row of the window: p = -(13 - 11 + 1) / 4
    scores[12] = 0.8  # later in the same window: adds nothing
    scores[16] = 0.7  # 3 rows after the window: d = 3 / (4 - 1) = 1
    tp = S(-0.75) / S(-1)
    by_threshold = {1.1: -1.0, 0.9: -1.0 - 0.11, 0.8: -0.11 + tp, 0.7: -0.11 + tp + 0.11 * S(1.0)}
    for threshold, raw in by_threshold.items():
        assert nab.raw_score_at([series], [scores], threshold, STANDARD) == pytest.approx(raw, abs=1e-12)
    best = nab.sweep([series], [scores], STANDARD)
    assert best.threshold == 0.8
    assert best.raw == pytest.approx(-0.11 + tp, abs=1e-12)
    assert best.score == pytest.approx(100 * (best.raw + 1) / 2)
    # Missing the window costs twice as much under reward_low_FN_rate, and that is the null score: 0.
    assert nab.raw_score_at([series], [np.zeros(20)], 0.5, LOW_FN) == -2.0
    assert nab.normalise(-2.0, 1, LOW_FN) == 0.0


def test_a_detection_on_the_first_row_of_every_window_is_perfect():
    series = _series(40, [(10, 13), (25, 29)])
    scores = np.zeros(40)
    scores[[10, 25]] = 1.0
    for profile in nab.PROFILES:
        assert nab.sweep([series], [scores], profile).score == pytest.approx(100.0)


def test_the_sweep_picks_the_best_of_every_distinct_score():
    rng = np.random.default_rng(3)
    series = [_series(300, [(100, 129), (200, 229)]), _series(200, []), _series(250, [(50, 74)])]
    scores = [np.round(rng.random(s.rows), 2) for s in series]  # many ties
    for profile in nab.PROFILES:
        best = nab.sweep(series, scores, profile)
        every = [nab.raw_score_at(series, scores, t, profile) for t in np.unique(np.concatenate(scores))]
        assert best.raw == pytest.approx(max(every + [-profile.fn_weight * 3]), abs=1e-9)
        assert nab.raw_score_at(series, scores, best.threshold, profile) == pytest.approx(best.raw, abs=1e-9)


def test_a_window_bound_off_the_data_rows_is_an_error():
    times = _series(20, []).timestamps
    with pytest.raises(nab.NabDataError, match="not the timestamp of a data row"):
        nab.label_series("cat/f.csv", times, [["2024-01-01 00:07:00.000000", "2024-01-01 00:30:00.000000"]])


@pytest.fixture(scope="module")
def developer_split(nab_dir):
    return nab.load_labelled(nab_dir / "data", nab_dir / "labels" / "combined_windows.json")


def test_developer_split_shape(developer_split):
    assert len(developer_split) == 34
    assert sum(s.rows for s in developer_split) == 121_702
    assert sum(len(s.windows) for s in developer_split) == 50


@pytest.mark.parametrize("detector", sorted(DEVELOPER_SPLIT))
def test_reference_detectors_reproduce_the_developer_split_table(detector, developer_split, nab_dir):
    scores = nab.read_results(nab_dir / "reference_results", detector, developer_split)
    result = nab.score_detector(developer_split, scores)
    for profile, published in zip(nab.PROFILES, DEVELOPER_SPLIT[detector]):
        assert result[profile.name].score == pytest.approx(published, abs=0.1), profile.name
        # The sweep's optimum is the raw score at its threshold, counted row by row.
        assert nab.raw_score_at(developer_split, scores, result[profile.name].threshold, profile) == pytest.approx(
            result[profile.name].raw, abs=1e-9)
