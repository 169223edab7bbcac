"""``riskwatch evaluate nab --select``: choose the default scorer by a rule fixed in advance.

NAB's withheld categories (server metrics of known causes, traffic, social
media volume) are other kinds of series than the shipped ones, so a default
picked for its score on the shipped files says little about them. The rule,
fixed before the figures below it were seen:

* **Candidates**: a fixed grid per scorer core (:data:`CANDIDATES`, 210):
  EWMA and CUSUM (alpha 0.001 to 0.05, CUSUM's k 0.5 to 2, reset 5 or 10,
  values raw or logged), the Poisson spike test (alpha 0.001 to 0.05, counts),
  the anomaly likelihood of an EWMA (inner alpha 0.02 to 0.3, 1 to 10 recent
  scores, raw or logged) and the Holt-Winters seasonal baseline alone and under
  CUSUM (alpha 0.002 to 0.05, gamma 0.1 or 0.3, 24 or 96 slots a day, k 0.5 or
  1, raw or logged). Each runs over every series once, in time order, as
  :mod:`streams.nab_benchmark` runs it. (The grid grew twice, by the
  likelihood and then the seasonal cores, after the first selections had been
  seen on the shipped files; the withheld files were never seen.) It grew a
  third time (issue 11, 210 candidates), by the context novelty (4, 8 or 16
  cells, raw or logged), the range excess alone (release 0 to 0.002, raw or
  logged) and the largest of the seasonal CUSUM above and a weighted range
  excess (weight 10 to 10,000, release 0 or 0.0005, raw or logged); the
  weight 10,000 was added after 1,000 had come out best of 10 to 1,000.
* **Leave one category out**: each shipped category with windows is held out
  in turn (``artificialNoAnomaly`` has none and stays in every training set,
  where it only costs false positives). A candidate's threshold is swept on
  the other categories and applied, unchanged, to the held-out one. Its
  *cross-validated score* is the held-out raw scores summed over the folds and
  normalised over all their windows (NAB's normalisation), standard profile.
* **Default**: the candidate with the highest cross-validated score.
* **Held-out estimate of the rule itself** (nested): in each fold the rule is
  applied to the training categories alone (their own leave-one-category-out),
  and the candidate it picks is scored on the held-out category. This figure,
  not the default's own cross-validated score (a maximum over the grid, so
  optimistic), is what the default can be expected to score on categories it
  has not seen, with the caveat that a threshold swept on the scored corpus
  itself (NAB's rule for the scoreboard) scores higher.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detectors.scorers import (
    ContextNoveltyScorer, CusumScorer, EwmaScorer, LikelihoodScorer, PoissonSpikeScorer, RangeExcessScorer,
    SeasonalScorer,
)
from streams import nab
from streams.nab_benchmark import BenchmarkScorer, epoch_seconds, seasonal_or_excess_core
from streams.progress import Progress

STANDARD = nab.PROFILES[0]
NO_WINDOWS = "artificialNoAnomaly"
ALPHAS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)


def _ewma(alpha: float):
    return lambda: EwmaScorer(alpha=alpha, min_history=30)


def _cusum(alpha: float, k: float, reset: float):
    return lambda: CusumScorer(alpha=alpha, k=k, min_history=30, reset_above=reset)


def _poisson(alpha: float):
    return lambda: PoissonSpikeScorer(alpha=alpha, min_history=30)


def _likelihood(inner_alpha: float, short: int):
    return lambda: LikelihoodScorer(EwmaScorer(alpha=inner_alpha, min_history=30), short=short, alpha=0.002)


def _seasonal(alpha: float, gamma: float, buckets: int, k: float | None):
    def build():
        seasonal = SeasonalScorer(buckets=buckets, alpha=alpha, gamma=gamma, min_history=30)
        return seasonal if k is None else CusumScorer(k=k, reset_above=10.0, baseline=seasonal)
    return build


def _novelty(bins: int):
    return lambda: ContextNoveltyScorer(bins=bins, order=3, min_history=150)


def _range_excess(release: float):
    return lambda: RangeExcessScorer(min_history=150, release=release)


def _seasonal_or_excess(weight: float, release: float):
    return lambda: seasonal_or_excess_core(weight, release)


def _candidates() -> tuple[BenchmarkScorer, ...]:
    out = []
    for log in (False, True):
        tag = "_log" if log else ""
        out += [BenchmarkScorer(f"ewma{tag}(alpha={a})", _ewma(a), log_values=log) for a in ALPHAS]
        out += [BenchmarkScorer(f"cusum{tag}(alpha={a},k={k},reset={r})", _cusum(a, k, r), log_values=log,
                                two_sided=False)
                for a in ALPHAS for k in (0.5, 1.0, 2.0) for r in (5.0, 10.0)]
    out += [BenchmarkScorer(f"poisson(alpha={a})", _poisson(a), counts=True) for a in ALPHAS]
    out += [BenchmarkScorer(f"likelihood{'_log' if log else ''}(ewma={a},short={n})", _likelihood(a, n),
                            log_values=log, two_sided=False)
            for log in (False, True) for a in (0.02, 0.1, 0.3) for n in (1, 5, 10)]
    out += [BenchmarkScorer(f"{'seasonal_cusum' if k else 'seasonal'}{'_log' if log else ''}(alpha={a},gamma={g},"
                            f"buckets={b}" + (f",k={k})" if k else ")"), _seasonal(a, g, b, k), log_values=log,
                            two_sided=k is None)
            for log in (False, True) for a in (0.002, 0.01, 0.05) for g in (0.1, 0.3) for b in (24, 96)
            for k in (None, 0.5, 1.0)]
    for log in (False, True):
        tag = "_log" if log else ""
        out += [BenchmarkScorer(f"novelty{tag}(bins={b},order=3)", _novelty(b), log_values=log, two_sided=False)
                for b in (4, 8, 16)]
        out += [BenchmarkScorer(f"range_excess{tag}(release={r})", _range_excess(r), log_values=log, two_sided=False)
                for r in (0.0, 0.0001, 0.0005, 0.002)]
        out += [BenchmarkScorer(f"seasonal_cusum_or_excess{tag}(weight={w:g},release={r})", _seasonal_or_excess(w, r),
                                log_values=log, two_sided=False)
                for w in (10.0, 100.0, 1000.0, 10000.0) for r in (0.0, 0.0005)]
    return tuple(out)


#: The grid the rule chooses from: 84 EWMA and CUSUM settings, 6 Poisson, 18 likelihood, 72 seasonal,
#: 6 context novelty, 8 range excess and 16 seasonal CUSUM or range excess.
CANDIDATES: tuple[BenchmarkScorer, ...] = _candidates()


@dataclass(frozen=True, slots=True)
class Fold:
    held_out: str
    training: tuple[int, ...]  # series indices
    testing: tuple[int, ...]


def category(series: nab.Series) -> str:
    return series.name.partition("/")[0]


def folds(series: list[nab.Series], among: tuple[int, ...] | None = None) -> list[Fold]:
    """One fold per category with windows among ``among`` (default: all series): that category held out."""
    among = tuple(range(len(series))) if among is None else among
    held = sorted({category(series[i]) for i in among if series[i].windows})
    return [Fold(c, tuple(i for i in among if category(series[i]) != c),
                 tuple(i for i in among if category(series[i]) == c)) for c in held]


def held_out_raw(series: list[nab.Series], scores: list[np.ndarray], fold: Fold) -> tuple[float, int]:
    """Raw score on the fold's held-out series at the threshold swept on its training series, and their windows."""
    train = nab.sweep([series[i] for i in fold.training], [scores[i] for i in fold.training], STANDARD)
    test = [series[i] for i in fold.testing]
    raw = nab.raw_score_at(test, [scores[i] for i in fold.testing], train.threshold, STANDARD)
    return raw, sum(len(s.windows) for s in test)


def cross_validated(series: list[nab.Series], scores: list[np.ndarray], fold_list: list[Fold]) -> float:
    """The held-out raw scores of ``fold_list`` summed and normalised over their windows (standard profile)."""
    raws = [held_out_raw(series, scores, f) for f in fold_list]
    return nab.normalise(sum(r for r, _ in raws), sum(w for _, w in raws), STANDARD)


def choose(series: list[nab.Series], scores: dict[str, list[np.ndarray]], among: tuple[int, ...] | None = None
           ) -> tuple[str, float]:
    """The rule: the candidate of best cross-validated score over the categories of ``among``."""
    fold_list = folds(series, among)
    ranked = {name: cross_validated(series, s, fold_list) for name, s in scores.items()}
    best = max(ranked, key=lambda name: (ranked[name], name))
    return best, ranked[best]


def select_default(data_dir: Path, windows_path: Path, candidates: tuple[BenchmarkScorer, ...] = CANDIDATES,
                   progress: Progress | None = None) -> dict:
    """Run every candidate once, apply the rule, and estimate it by nested leave-one-category-out.

    Returns ``default`` (name and cross-validated score), ``nested`` (per held-out
    category: the candidate the rule picks without it, and its held-out score;
    ``overall``: those raw scores summed and normalised), ``in_sample`` (the
    default's score with the threshold swept on all shipped series, as the
    scoreboard is computed), ``candidates`` (every cross-validated score) and
    ``seconds``.
    """
    started = time.perf_counter()
    corpus = nab.load_corpus(data_dir, windows_path)
    series = [s for s, _ in corpus]
    scores: dict[str, list[np.ndarray]] = {}
    for candidate in candidates:
        scores[candidate.name] = [candidate.run(epoch_seconds(s.timestamps), values) for s, values in corpus]
        if progress is not None:
            progress.advance(1, label=f"{candidate.name[:24]:24}")
    fold_list = folds(series)
    ranked = {name: round(cross_validated(series, s, fold_list), 2) for name, s in scores.items()}
    default, default_cv = choose(series, scores)
    nested, raws = {}, []
    for fold in fold_list:
        picked, _ = choose(series, scores, fold.training)
        raw, windows = held_out_raw(series, scores[picked], fold)
        raws.append((raw, windows))
        nested[fold.held_out] = {"picked": picked, "score": round(nab.normalise(raw, windows, STANDARD), 2)}
    nested["overall"] = round(nab.normalise(sum(r for r, _ in raws), sum(w for _, w in raws), STANDARD), 2)
    in_sample = {p: round(r.score, 2) for p, r in nab.score_detector(series, scores[default]).items()}
    return {"default": {"name": default, "cross_validated": round(default_cv, 2)}, "nested": nested,
            "in_sample": in_sample, "candidates": dict(sorted(ranked.items(), key=lambda kv: -kv[1])),
            "seconds": round(time.perf_counter() - started, 1)}


def format_selection(result: dict, top: int = 10) -> str:
    lines = [f"default scorer by leave-one-category-out (standard profile), {result['seconds']} s",
             f"  default: {result['default']['name']} (cross-validated {result['default']['cross_validated']:.2f}; "
             f"threshold swept on all shipped files: " + " / ".join(f"{v:.2f}" for v in result["in_sample"].values())
             + ")",
             "  the rule applied without each category, scored on it:"]
    for held, entry in result["nested"].items():
        if held != "overall":
            lines.append(f"    {held:24} {entry['score']:7.2f}  ({entry['picked']})")
    lines.append(f"    {'all three':24} {result['nested']['overall']:7.2f}")
    lines.append(f"  best {top} of {len(result['candidates'])} candidates by cross-validated score:")
    for name, score in list(result["candidates"].items())[:top]:
        lines.append(f"    {name:40} {score:7.2f}")
    return "\n".join(lines)
