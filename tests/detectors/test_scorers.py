"""The streaming scorers: one interface, explicit state, figures worked by hand."""
from __future__ import annotations

import math
from statistics import NormalDist

import orjson
import pytest

from detectors.scorers import (
    MAD_TO_SIGMA, ContextNoveltyScorer, CusumScorer, EwmaScorer, LikelihoodScorer, MaxOfScorers, PoissonSpikeScorer,
    RangeExcessScorer, RobustZScorer, SeasonalScorer, poisson_surprise,
)
from detectors.stats import poisson_sf

SCORERS = [RobustZScorer(capacity=8, min_history=3), EwmaScorer(alpha=0.3, min_history=3),
           CusumScorer(alpha=0.3, min_history=3), PoissonSpikeScorer(alpha=0.3, min_history=3),
           RangeExcessScorer(min_history=3),
           MaxOfScorers([(EwmaScorer(alpha=0.3, min_history=3), 1.0), (RangeExcessScorer(min_history=2), 0.1)])]


def learn_all(scorer, values, state=None):
    for t, x in enumerate(values):
        state = scorer.learn(state, x, float(t), f"r{t}")
    return state


@pytest.mark.parametrize("scorer", SCORERS, ids=lambda s: type(s).__name__)
def test_the_uniform_interface(scorer):
    state, score = scorer.score_one(None, 5.0, 0.0)
    assert score == 0.0  # nothing learnt yet
    for t in range(1, 3):
        state, score = scorer.score_one(state, 5.0 + t, float(t))
        assert score == 0.0  # fewer than min_history values before it
    state, score = scorer.score_one(state, 50.0, 3.0)
    assert score > 3.0
    assert orjson.loads(orjson.dumps(state)) == state
    with pytest.raises(ValueError, match="finite"):
        scorer.score_one(state, math.nan, 4.0)


@pytest.mark.parametrize("scorer", SCORERS + [LikelihoodScorer(EwmaScorer(alpha=0.3, min_history=2), short=2,
                                                                min_history=2),
                                              ContextNoveltyScorer(bins=2, order=2, min_history=3, capacity=4)],
                         ids=lambda s: type(s).__name__)
def test_state_restored_from_json_scores_the_same(scorer):
    values = [3.0, 4.0, 3.5, 5.0, 4.2, 9.0, 4.1, 4.4]
    state, straight = None, []
    for t, x in enumerate(values):
        state, s = scorer.score_one(state, x, float(t))
        straight.append(s)
    state, restored = None, []
    for t, x in enumerate(values):
        state = orjson.loads(orjson.dumps(state))
        state, s = scorer.score_one(state, x, float(t))
        restored.append(s)
    assert restored == straight


def test_robust_z_by_hand():
    scorer = RobustZScorer(capacity=10, min_history=5)
    state = learn_all(scorer, [10.0, 12.0, 11.0, 13.0, 9.0])
    # median 11; absolute deviations 1, 1, 0, 2, 2: MAD 1, scale 1.4826
    assert scorer.score(state, 16.0, 5.0) == pytest.approx(5 / MAD_TO_SIGMA)
    assert scorer.score(state, 8.0, 5.0) == pytest.approx(-3 / MAD_TO_SIGMA)
    # Scored against values strictly before its time: at t=4 only four values count.
    assert scorer.score(state, 16.0, 4.0) == 0.0


def test_robust_z_scale_floor():
    scorer = RobustZScorer(capacity=10, min_history=5, min_scale=0.5)
    state = learn_all(scorer, [5.0] * 5)  # MAD 0
    assert scorer.score(state, 6.0, 9.0) == pytest.approx(2.0)


def test_robust_z_keeps_the_latest_by_time_whatever_the_arrival_order():
    scorer = RobustZScorer(capacity=3, min_history=1)
    state = None
    for t in (5.0, 1.0, 4.0, 2.0, 3.0):
        state = scorer.learn(state, t * 10, t, f"r{t:.0f}")
    assert state == {"v": [[3.0, 30.0, "r3"], [4.0, 40.0, "r4"], [5.0, 50.0, "r5"]]}
    assert scorer.refs(state) == {"r3", "r4", "r5"}


def test_robust_z_forgets_by_age():
    scorer = RobustZScorer(capacity=10, min_history=1, max_age_s=100.0)
    state = None
    for t in (0.0, 50.0, 150.0):
        state = scorer.learn(state, 1.0, t)
    assert [e[0] for e in state["v"]] == [50.0, 150.0]  # 0 is older than 150 - 100
    assert scorer.forget(state, 151.0) is None


def test_ewma_by_hand():
    scorer = EwmaScorer(alpha=0.5, min_history=2)
    state = learn_all(scorer, [10.0, 12.0])
    # m: 10 -> 11; v: 0.5 * (0 + 2 * 1) = 1
    assert state == {"n": 2, "m": 11.0, "v": 1.0}
    assert scorer.score(state, 13.0, 2.0) == pytest.approx(2.0)
    state = scorer.learn(state, 13.0, 2.0)
    assert state == {"n": 3, "m": 12.0, "v": 1.5}  # v: 0.5 * (1 + 2 * 1)


def test_cusum_accumulates_a_persistent_shift():
    scorer = CusumScorer(alpha=0.5, k=0.5, min_history=2, reset_above=None)
    state = learn_all(scorer, [10.0, 12.0])  # EWMA m 11, v 1
    state, first = scorer.score_one(state, 13.0, 2.0)
    assert first == pytest.approx(1.5)  # z 2, minus k
    state, second = scorer.score_one(state, 13.0, 3.0)  # EWMA m 12, v 1.5: z 1/sqrt(1.5)
    assert second == pytest.approx(1.5 + 1 / math.sqrt(1.5) - 0.5)
    assert state["q"] == 0.0


def test_cusum_restarts_after_an_alarm():
    scorer = CusumScorer(alpha=0.5, k=0.5, min_history=2, reset_above=1.0)
    state = learn_all(scorer, [10.0, 12.0])
    state, score = scorer.score_one(state, 13.0, 2.0)
    assert score == pytest.approx(1.5)
    assert (state["p"], state["q"]) == (0.0, 0.0)


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError):
        RobustZScorer(capacity=3, min_history=5)
    with pytest.raises(ValueError):
        EwmaScorer(alpha=0.0)
    with pytest.raises(ValueError):
        CusumScorer(k=-1.0)


def test_robust_z_finds_a_value_by_its_time_and_ref():
    scorer = RobustZScorer(capacity=10, min_history=1)
    state = learn_all(scorer, [1.0, 2.0, 3.0])  # refs r0, r1, r2 at t 0, 1, 2
    state = scorer.learn(state, 4.0, 1.0, "late")
    assert [e[2] for e in scorer.since(state, 1.0)] == ["r1", "late", "r2"]
    assert scorer.holds(state, "late", 1.0) and scorer.holds(state, "r1", 1.0)
    assert not scorer.holds(state, "r2", 1.0) and not scorer.holds(None, "r0", 0.0)


def test_poisson_surprise_is_the_tail_as_a_z_score():
    upper = poisson_sf(6, 1.5)  # P(X >= 6) under a mean of 1.5: 0.0045
    assert poisson_surprise(6, 1.5) == pytest.approx(-NormalDist().inv_cdf(upper))
    lower = math.exp(-20.0) * (1 + 20.0)  # P(X <= 1) under a mean of 20
    assert poisson_surprise(1, 20.0) == pytest.approx(NormalDist().inv_cdf(lower))
    assert poisson_surprise(3, 3.0) == 0.0
    # Past the exact range, Wilson-Hilferty: within a few per cent of the normal approximation of a large mean.
    assert poisson_surprise(10_300, 10_000.0) == pytest.approx(3.0, rel=0.02)
    assert poisson_surprise(9_700, 10_000.0) == pytest.approx(-3.0, rel=0.02)


def test_poisson_spike_scales_an_overdispersed_series():
    scorer = PoissonSpikeScorer(alpha=0.5, min_history=2)
    state = {"n": 10, "m": 4.0, "v": 16.0}  # variance four times the mean: dispersion 4
    # 20 of a mean of 4 reads as 5 of a mean of 1.
    assert scorer.score(state, 20.0, 0.0) == pytest.approx(poisson_surprise(5, 1.0))
    plain = {"n": 10, "m": 4.0, "v": 2.0}  # under-dispersed: read as plain Poisson
    assert scorer.score(plain, 20.0, 0.0) == pytest.approx(poisson_surprise(20, 4.0))
    quiet = {"n": 10, "m": 0.0, "v": 0.0}  # nothing for weeks: the mean is floored at min_rate
    assert scorer.score(quiet, 1.0, 0.0) == pytest.approx(poisson_surprise(1, 0.05))
    with pytest.raises(ValueError, match="negative"):
        scorer.score_one(state, -1.0, 1.0)


def test_likelihood_waits_for_the_inner_scorer_then_its_own_history():
    scorer = LikelihoodScorer(EwmaScorer(alpha=0.5, min_history=3), short=2, min_history=4)
    state, scores = None, []
    for t, x in enumerate([1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 9.0]):
        state, s = scorer.score_one(state, x, float(t))
        scores.append(s)
    assert scores[:7] == [0.0] * 7 and scores[7] > 0  # 3 values for the inner scorer, then 4 inner scores
    assert state["c"] == 8 and state["n"] == 5 and len(state["s"]) == 2


def test_likelihood_by_hand():
    scorer = LikelihoodScorer(EwmaScorer(alpha=0.1, min_history=3), short=3, min_history=10)
    state = {"i": {"n": 10, "m": 0.0, "v": 1.0}, "c": 10, "s": [1.0, 1.0], "n": 50, "m": 1.0, "v": 0.25}
    # The inner z of 4.0 is 4; the last three inner scores average 2; against a mean of 1 and sd of 0.5: 2.
    assert scorer.score(state, 4.0, 11.0) == pytest.approx(2.0)
    assert scorer.score(state, -4.0, 11.0) == pytest.approx(2.0)  # a departure either way


def test_seasonal_by_hand():
    scorer = SeasonalScorer(period_s=10.0, buckets=2, alpha=0.5, gamma=0.5, min_history=2)
    state = scorer.learn(None, 4.0, 0.0)
    assert state == {"n": 1, "l": 4.0, "o": [0.0, 0.0], "v": 0.0} and scorer.score(state, 9.0, 6.0) == 0.0
    state = scorer.learn(state, 6.0, 6.0)  # slot 1 (6 of 10 s): error 2
    # variance 0.5 * (0 + 0.5 * 2^2) = 1; level 4 + 0.5 * (6 - 4) = 5; slot 1's offset 0.5 * (6 - 5) = 0.5
    assert state == {"n": 2, "l": 5.0, "o": [0.0, 0.5], "v": 1.0}
    assert scorer.score(state, 7.0, 16.0) == pytest.approx(1.5)  # slot 1 again: 7 - 5 - 0.5
    assert scorer.score(state, 7.0, 12.0) == pytest.approx(2.0)  # slot 0: 7 - 5


def test_cusum_over_a_seasonal_baseline_keeps_both_states_in_one():
    scorer = CusumScorer(k=0.5, baseline=SeasonalScorer(period_s=10.0, buckets=2, min_history=3))
    state = learn_all(scorer, [1.0, 5.0] * 6)
    assert {"n", "l", "o", "v", "p", "q"} == set(state) and scorer.min_history == 3


def test_context_novelty_cuts_the_warm_up_range_and_scores_the_share_of_new_contexts():
    scorer = ContextNoveltyScorer(bins=4, order=3, min_history=4)
    state = learn_all(scorer, [0.0, 4.0, 1.0, 2.0])  # range 0..4: cells of width 1; cells 0, 4, 1, 2
    assert state["d"] == 1.0 and state["w"] is None and state["r"] == [4, 1, 2]
    assert set(state["c"]) == {"0", "4", "0,4", "1", "4,1", "0,4,1", "2", "1,2", "4,1,2"}
    assert scorer.score(state, 2.5, 4.0) == pytest.approx(2 / 3)  # cell 2 seen; "2,2" and "1,2,2" not
    assert scorer.score(state, 7.0, 4.0) == 1.0  # cell 7, past the warm-up's range: a level never reached
    assert scorer.score(state, -0.5, 4.0) == 1.0  # cell -1, below it
    state = scorer.learn(state, 2.5, 4.0)
    assert scorer.score(state, 2.9, 5.0) == pytest.approx(1 / 3)  # "2", "2,2" seen; "2,2,2" not


def test_context_novelty_waits_out_a_flat_warm_up():
    scorer = ContextNoveltyScorer(bins=4, order=2, min_history=3)
    state = learn_all(scorer, [5.0] * 10)
    assert state["d"] is None and len(state["w"]) == 3  # bounded while flat
    assert scorer.score(state, 5.0, 10.0) == 0.0 and scorer.score(state, 6.0, 10.0) == 1.0
    state = scorer.learn(state, 9.0, 10.0)  # the first departure fixes the grid: 5..9 in 4 cells
    assert state["d"] == 1.0 and state["r"] == [0, 4]


def test_context_novelty_forgets_the_least_recently_seen_context_first():
    scorer = ContextNoveltyScorer(bins=2, order=1, min_history=2, capacity=2)
    state = learn_all(scorer, [0.0, 2.0, 0.0])  # cells 0, 2, 0: "0" seen last
    assert list(state["c"]) == ["2", "0"]
    state = scorer.learn(state, 5.0, 3.0)  # cell 5 pushes out "2", the least recently seen
    assert list(state["c"]) == ["0", "5"] and scorer.score(state, 2.0, 4.0) == 1.0


def test_range_excess_by_hand():
    scorer = RangeExcessScorer(min_history=2)
    state = learn_all(scorer, [10.0, 20.0])
    assert scorer.score(state, 15.0, 2.0) == 0.0
    assert scorer.score(state, 25.0, 2.0) == pytest.approx(0.5) and scorer.score(state, 0.0, 2.0) == 1.0
    assert RangeExcessScorer(min_history=1, min_range=2.0).score({"n": 3, "lo": 1.0, "hi": 1.0}, 4.0, 0.0) == 1.5


def test_range_excess_release_lets_an_old_extreme_fade():
    scorer = RangeExcessScorer(min_history=2, release=0.5)
    state = learn_all(scorer, [0.0, 100.0])  # hi 100, lo 0 + 0.5 * 100 = 50: the envelope closes in on 100
    assert (state["lo"], state["hi"]) == (50.0, 100.0)
    state = scorer.learn(state, 60.0, 2.0)  # both relax towards 60: lo 50 + 0.5 * 10, hi 100 - 0.5 * 40
    assert (state["lo"], state["hi"]) == (55.0, 80.0)
    state = scorer.learn(state, 30.0, 3.0)  # a new low is taken at once
    assert state["lo"] == 30.0
    assert RangeExcessScorer(min_history=2).learn({"n": 2, "lo": 0.0, "hi": 100.0}, 60.0, 2.0)["hi"] == 100.0
    with pytest.raises(ValueError):
        RangeExcessScorer(release=1.0)


def test_max_of_scorers_weighs_upward_scores_and_waits_for_every_part():
    ewma, excess = EwmaScorer(alpha=0.5, min_history=2), RangeExcessScorer(min_history=3)
    scorer = MaxOfScorers([(ewma, 1.0), (excess, 10.0)])
    assert scorer.min_history == 3
    state = learn_all(scorer, [10.0, 12.0, 11.0])
    assert state["p"][0] == learn_all(ewma, [10.0, 12.0, 11.0]) and state["p"][1] == {"n": 3, "lo": 10.0, "hi": 12.0}
    z = ewma.score(state["p"][0], 13.0, 3.0)
    assert scorer.score(state, 13.0, 3.0) == pytest.approx(max(z, 10.0 * 0.5))
    assert scorer.score(state, 11.0, 3.0) == pytest.approx(max(ewma.score(state["p"][0], 11.0, 3.0), 0.0))
    with pytest.raises(ValueError):
        MaxOfScorers([(ewma, 0.0)])
