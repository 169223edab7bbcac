"""Numenta Anomaly Benchmark (NAB v1.1) scoring, as NAB's published description gives it.

The rules (see ``shared/data/nab/README.md``, checked there against NAB's
``sweeper.py``, ``optimizer.py``, ``scorer.py`` and ``runner.py``):

* a row whose anomaly score is ``>= threshold`` is a detection; the first
  ``min(floor(0.15 * rows), 750)`` rows of a file (the probationary period)
  are not scored;
* ``S(x) = 2 / (1 + exp(5x)) - 1``, and ``-1`` for ``x > 3``;
* the earliest detection in a window of ``w`` rows ending at row ``r`` is
  worth ``tpWeight * S(-(r - i + 1) / w) / S(-1)``; a window with none costs
  ``fnWeight``; later detections in the window count nothing;
* a detection outside every window costs ``fpWeight * S(d)`` with
  ``d = (i - r_prev) / (w_prev - 1)`` past the previous window's end, the full
  ``fpWeight`` when there is no window before it;
* one threshold per detector and profile for the whole corpus: the one of
  greatest raw score among every distinct anomaly score (and "detect
  nothing"), found by one sorted pass over all scorable rows;
* ``score = 100 * (raw - null) / (perfect - null)`` with ``null = -fnWeight *
  windows`` and ``perfect = tpWeight * windows``.

Timestamps are naive ``YYYY-MM-DD HH:MM:SS`` as NAB writes them; window ends
must be timestamps of data rows (a :class:`NabDataError` says which is not).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

#: Share of each file, capped at 15% of 5,000 rows, that a detector learns on unscored.
PROBATIONARY_PERCENT = 0.15


class NabDataError(ValueError):
    """A NAB data, label or results file cannot be used; the message names it."""


@dataclass(frozen=True, slots=True)
class Profile:
    """One of NAB's cost matrices (``config/profiles.json``; ``tnWeight`` is unused)."""

    name: str
    tp_weight: float
    fn_weight: float
    fp_weight: float


#: NAB's three published profiles, in the order NAB's scoreboard lists them.
PROFILES: tuple[Profile, ...] = (
    Profile("standard", 1.0, 1.0, 0.11),
    Profile("reward_low_FP_rate", 1.0, 1.0, 0.22),
    Profile("reward_low_FN_rate", 1.0, 2.0, 0.11),
)


def probationary_length(rows: int) -> int:
    """Rows at the start of a file that are not scored."""
    return int(min(math.floor(PROBATIONARY_PERCENT * rows), PROBATIONARY_PERCENT * 5000))


def scaled_sigmoid(x: np.ndarray) -> np.ndarray:
    """NAB's ``S(x)``: 1 far before a window's end, -1 from 3 window widths after it."""
    x = np.asarray(x, dtype=float)
    with np.errstate(over="ignore"):
        value = 2.0 / (1.0 + np.exp(5.0 * x)) - 1.0
    return np.where(x > 3.0, -1.0, value)


@dataclass(frozen=True, slots=True)
class Series:
    """One labelled file: its relative path (``<category>/<name>.csv``), row times and windows.

    ``windows`` are ``(first row, last row)`` pairs, both inclusive, in time order.
    """

    name: str
    timestamps: np.ndarray  # datetime64[us]
    windows: tuple[tuple[int, int], ...]

    @property
    def rows(self) -> int:
        return len(self.timestamps)


@dataclass(frozen=True, slots=True)
class SeriesWeights:
    """What a detection on each scorable row is worth, before a profile's weights.

    ``window`` is the corpus-wide window number of the row, or -1 outside every
    window; ``value`` is ``S(-(r - i + 1) / w) / S(-1)`` inside a window and
    ``S(d)`` (between -1 and 0) outside. Only rows past the probationary period.
    """

    first_row: int
    window: np.ndarray
    value: np.ndarray


def parse_times(texts: Iterable[str], where: str) -> np.ndarray:
    try:
        return np.array(list(texts), dtype="datetime64[us]")
    except ValueError as exc:
        raise NabDataError(f"{where}: a timestamp is not YYYY-MM-DD HH:MM:SS: {exc}") from None


def read_csv_columns(path: Path, header: tuple[str, str]) -> tuple[list[str], list[str]]:
    """The two columns of a NAB CSV (``timestamp,value`` or ``timestamp,anomaly_score``) as text."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise NabDataError(f"{path}: {exc.strerror}") from None
    if not lines or tuple(c.strip() for c in lines[0].split(",")[:2]) != header:
        raise NabDataError(f"{path}: the header must start with {','.join(header)}")
    times, values = [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split(",")
        if len(parts) < 2:
            raise NabDataError(f"{path}:{number}: expected {','.join(header)}, got {line!r}")
        times.append(parts[0].strip())
        values.append(parts[1].strip())
    return times, values


def read_values(path: Path, header: tuple[str, str] = ("timestamp", "value")) -> tuple[np.ndarray, np.ndarray]:
    """Row times and float values of a data file (or, with another header, a results file)."""
    times, texts = read_csv_columns(path, header)
    try:
        values = np.array([float(t) for t in texts], dtype=float)
    except ValueError as exc:
        raise NabDataError(f"{path}: {exc}") from None
    return parse_times(times, str(path)), values


def read_windows(path: Path) -> dict[str, list[list[str]]]:
    """``combined_windows.json``: ``{"<category>/<file>.csv": [[start, end], ...]}``."""
    try:
        windows = orjson.loads(Path(path).read_bytes())
    except OSError as exc:
        raise NabDataError(f"{path}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise NabDataError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(windows, dict):
        raise NabDataError(f"{path} must hold an object of file -> windows")
    return windows


def label_series(name: str, timestamps: np.ndarray, windows: list[list[str]]) -> Series:
    """A :class:`Series` whose windows are row ranges of ``timestamps``."""
    rows: list[tuple[int, int]] = []
    for start, end in windows:
        bounds = parse_times([start, end], f"windows of {name}")
        first, last = np.searchsorted(timestamps, bounds)
        for edge, bound, row in ((start, bounds[0], first), (end, bounds[1], last)):
            if row >= len(timestamps) or timestamps[row] != bound:
                raise NabDataError(f"window bound {edge} of {name} is not the timestamp of a data row")
        rows.append((int(first), int(last)))
    return Series(name, timestamps, tuple(sorted(rows)))


def series_paths(data_dir: Path) -> list[str]:
    """The ``<category>/<name>.csv`` files under ``data_dir``, sorted."""
    data_dir = Path(data_dir)
    names = sorted(p.relative_to(data_dir).as_posix() for p in data_dir.glob("*/*.csv"))
    if not names:
        raise NabDataError(f"{data_dir}: no <category>/<name>.csv files")
    return names


def load_corpus(data_dir: Path, windows_path: Path) -> list[tuple[Series, np.ndarray]]:
    """Every series under ``data_dir`` with its values, labelled by ``windows_path``."""
    labels = read_windows(windows_path)
    corpus = []
    for name in series_paths(data_dir):
        if name not in labels:
            raise NabDataError(f"{name} has no entry in {windows_path}")
        timestamps, values = read_values(Path(data_dir) / name)
        corpus.append((label_series(name, timestamps, labels[name]), values))
    return corpus


def series_weights(series: Series, first_window: int) -> SeriesWeights:
    """Per scorable row: its window number (corpus-wide, from ``first_window``) and unweighted value."""
    n = series.rows
    start = probationary_length(n)
    index = np.arange(n)
    window = np.full(n, -1, dtype=np.int64)
    value = np.full(n, -1.0)  # before any window: a full false positive
    for k, (first, last) in enumerate(series.windows):
        width = last - first + 1
        inside = index[first:last + 1]
        window[first:last + 1] = first_window + k
        value[first:last + 1] = scaled_sigmoid(-(last - inside + 1) / width) / scaled_sigmoid(-1.0)
        following = series.windows[k + 1][0] if k + 1 < len(series.windows) else n
        after = index[last + 1:following]
        # A one-row window gives d = inf: the full cost, as NAB's division by zero would not.
        with np.errstate(divide="ignore"):
            d = (after - last) / float(width - 1) if width > 1 else np.full(len(after), np.inf)
        value[last + 1:following] = scaled_sigmoid(d)
    return SeriesWeights(start, window[start:], value[start:])


@dataclass(frozen=True, slots=True)
class ProfileScore:
    threshold: float
    raw: float
    score: float
    windows: int

    def to_dict(self) -> dict:
        return {"threshold": self.threshold, "raw": self.raw, "score": self.score, "windows": self.windows}


def _corpus_weights(series: list[Series]) -> tuple[list[SeriesWeights], int]:
    weights, windows = [], 0
    for s in series:
        weights.append(series_weights(s, windows))
        windows += len(s.windows)
    return weights, windows


def normalise(raw: float, windows: int, profile: Profile) -> float:
    null = -profile.fn_weight * windows
    perfect = profile.tp_weight * windows
    return 100.0 * (raw - null) / (perfect - null) if perfect != null else 0.0


def sweep(series: list[Series], scores: list[np.ndarray], profile: Profile) -> ProfileScore:
    """The best threshold over the whole corpus for one profile, and its raw and normalised score.

    Every scorable row becomes ``(anomaly score, change in raw score when the
    threshold drops to it)``: a false-positive row's cost, or for a window row
    the rise of the window's best (earliest) detection; one sort and one
    cumulative sum then give the raw score at every distinct threshold.
    """
    weights, windows = _corpus_weights(series)
    all_scores, all_deltas = [], []
    for s, w, raw_scores in zip(series, weights, scores):
        if len(raw_scores) != s.rows:
            raise NabDataError(f"{s.name}: {len(raw_scores)} scores for {s.rows} rows")
        row_scores = np.asarray(raw_scores, dtype=float)[w.first_row:]
        outside = w.window < 0
        all_scores.append(row_scores[outside])
        all_deltas.append(profile.fp_weight * w.value[outside])
        for k in np.unique(w.window[~outside]):
            inside = w.window == k
            order = np.argsort(-row_scores[inside], kind="stable")
            best = np.maximum.accumulate(profile.tp_weight * w.value[inside][order])
            all_scores.append(row_scores[inside][order])
            all_deltas.append(np.diff(best, prepend=-profile.fn_weight))
    flat_scores = np.concatenate(all_scores) if all_scores else np.empty(0)
    flat_deltas = np.concatenate(all_deltas) if all_deltas else np.empty(0)
    order = np.argsort(-flat_scores, kind="stable")
    ordered = flat_scores[order]
    running = -profile.fn_weight * windows + np.cumsum(flat_deltas[order])
    # The last row of each run of equal scores: the raw score at that threshold.
    ends = np.flatnonzero(np.append(ordered[1:] != ordered[:-1], True)) if len(ordered) else np.empty(0, int)
    thresholds = np.concatenate(([1.1], ordered[ends]))  # 1.1: NAB's "detect nothing"
    raws = np.concatenate(([-profile.fn_weight * windows], running[ends]))
    best = int(np.argmax(raws))  # the first maximum: the highest threshold among equals, as NAB
    raw = float(raws[best])
    return ProfileScore(float(thresholds[best]), raw, normalise(raw, windows, profile), windows)


def raw_score_at(series: list[Series], scores: list[np.ndarray], threshold: float, profile: Profile) -> float:
    """Raw score at one given threshold, counted row by row (checks :func:`sweep`; scores at NAB's published thresholds)."""
    weights, _ = _corpus_weights(series)
    total = 0.0
    for w, raw_scores in zip(weights, scores):
        detected = np.asarray(raw_scores, dtype=float)[w.first_row:] >= threshold
        outside = w.window < 0
        total += profile.fp_weight * float(np.sum(w.value[outside & detected]))
        for k in np.unique(w.window[~outside]):
            hits = np.flatnonzero((w.window == k) & detected)
            total += profile.tp_weight * float(w.value[hits[0]]) if len(hits) else -profile.fn_weight
    return total


def score_detector(series: list[Series], scores: list[np.ndarray],
                   profiles: Iterable[Profile] = PROFILES) -> dict[str, ProfileScore]:
    """NAB's score of one detector's anomaly scores (one array per series, in order) under each profile."""
    return {p.name: sweep(series, scores, p) for p in profiles}


def results_path(results_dir: Path, detector: str, series_name: str) -> Path:
    """NAB's results layout: ``<dir>/<detector>/<category>/<detector>_<name>.csv``."""
    category, _, file_name = series_name.rpartition("/")
    return Path(results_dir) / detector / category / f"{detector}_{file_name}"


def read_results(results_dir: Path, detector: str, series: list[Series]) -> list[np.ndarray]:
    """A detector's anomaly scores for each series, checked row for row against the data's timestamps."""
    out = []
    for s in series:
        path = results_path(results_dir, detector, s.name)
        times, scores = read_values(path, ("timestamp", "anomaly_score"))
        if len(times) != s.rows or not np.array_equal(times, s.timestamps):
            raise NabDataError(f"{path}: rows do not match the timestamps of {s.name}")
        out.append(scores)
    return out


def load_labelled(data_dir: Path, windows_path: Path) -> list[Series]:
    """The labelled series of a corpus, without their values."""
    return [s for s, _ in load_corpus(data_dir, windows_path)]
