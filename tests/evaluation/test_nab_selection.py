"""evaluate nab --select: the default scorer chosen by leave-one-category-out, thresholds carried across."""
from __future__ import annotations

import numpy as np
import pytest

from streams import nab
from streams.nab_selection import STANDARD, choose, cross_validated, folds, held_out_raw

ROWS = 100  # probationary period: the first 15 rows


def series(name: str, windows=((50, 59),)) -> nab.Series:
    times = np.datetime64("2024-01-01T00:00:00", "us") + np.arange(ROWS) * np.timedelta64(5, "m")
    return nab.Series(name, times, tuple(windows))


def scores(**rows: float) -> np.ndarray:
    out = np.zeros(ROWS)
    for row, value in rows.items():
        out[int(row[1:])] = value
    return out


CORPUS = [series("a/one.csv"), series("b/two.csv"), series("quiet/none.csv", windows=())]
# Detects a's window on its first row at 0.6; b's at 0.9, with a false alarm at row 80 of 0.7.
UNEVEN = [scores(r50=0.6), scores(r50=0.9, r80=0.7), scores()]
PERFECT = [scores(r50=1.0), scores(r50=1.0), scores()]
# A false alarm after the window costs 0.11 S(d), d = (80 - 59) / (10 - 1) past its end.
FALSE_ALARM = 0.11 * float(nab.scaled_sigmoid(np.array([21 / 9]))[0])


def test_one_fold_per_category_with_windows_and_the_quiet_one_always_trains():
    assert [(f.held_out, f.training, f.testing) for f in folds(CORPUS)] == [("a", (1, 2), (0,)), ("b", (0, 2), (1,))]
    assert [f.held_out for f in folds(CORPUS, among=(0, 2))] == ["a"]


def test_the_threshold_is_swept_on_the_training_categories_and_carried_to_the_held_out_one():
    by_fold = {f.held_out: held_out_raw(CORPUS, UNEVEN, f) for f in folds(CORPUS)}
    # Trained on b the threshold is 0.9 (0.7 would add the false alarm): a's 0.6 is a miss.
    assert by_fold["a"] == (-1.0, 1)
    # Trained on a it is 0.6: b's window is found on its first row, and the false alarm counts.
    assert by_fold["b"][0] == pytest.approx(1.0 + FALSE_ALARM) and by_fold["b"][1] == 1
    cv = cross_validated(CORPUS, UNEVEN, folds(CORPUS))
    assert cv == pytest.approx(nab.normalise(-1.0 + 1.0 + FALSE_ALARM, 2, STANDARD))


def test_the_rule_picks_the_best_cross_validated_candidate():
    assert choose(CORPUS, {"uneven": UNEVEN, "perfect": PERFECT}) == ("perfect", 100.0)


def test_the_default_scorer_is_the_candidate_the_rule_picked():
    """``evaluate nab``'s default is built as the grid's pick (weight 1,000, no release, logged values)."""
    from streams.nab_benchmark import DEFAULT_SCORER, SCORERS
    from streams.nab_selection import CANDIDATES

    default = next(s for s in SCORERS if s.name == DEFAULT_SCORER)
    picked = next(c for c in CANDIDATES if c.name == "seasonal_cusum_or_excess_log(weight=1000,release=0.0)")
    rng = np.random.default_rng(3)
    values = np.concatenate([10 + rng.normal(0, 1, 300), [25.0], 10 + rng.normal(0, 1, 50), 14 + rng.normal(0, 1, 80)])
    times = np.arange(len(values)) * 300.0
    ours, theirs = default.run(times, values), picked.run(times, values)
    assert np.array_equal(ours, theirs)
    assert (default.log_values, default.two_sided) == (picked.log_values, picked.two_sided)
    assert ours[300] == ours.max() > 0.9  # the new extreme outranks everything else
