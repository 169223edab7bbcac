"""``riskwatch evaluate amlsim``: an IBM AMLSim sample through the fund-flow detectors.

**Mapping.** AMLSim's sample is a log of bank transfers ``source -> target``
of ``value`` at integer ``step`` (see ``shared/data/amlsim/README.md``). Each
transfer becomes one payment event that the worker's codec accepts and the
worker's engine (:func:`streams.engine.run_events`, every registered detector,
default thresholds) runs:

* a ``surrender_payout`` of policy ``PO<source>`` held by account
  ``AC<source>``, paid to account ``AC<target>``: the
  insurer is the conduit, so the payout is a transfer from the policy's funder
  (the policyholder: no third party paid its premiums) to the payee, which is
  what ``fan_in`` counts (distinct policies not the payee's own) and what
  ``round_tripping`` puts in its payer-to-payee graph. No ``customer_id``:
  AMLSim knows accounts only, so no two accounts are one customer's;
* event time: :data:`BASE_DATE` plus ``(step - 1)`` times :data:`STEP_S` (one
  day, as current AMLSim maps a step), every transfer of a step at the step's
  start (the sample has no finer time);
* amount: ``value`` times :data:`UNIT_CNY` (1,000 CNY per AMLSim unit, so
  amounts run from about 2,500 to 600,000 CNY and round-tripping's 1,000 CNY
  floor drops none).

**Scoring** is per account: an alert flags its entity and the accounts its
evidence names as members of the flow (a cycle's accounts; the holders of a
fan-in's policies), then flagged accounts are compared with ``isFraud``. The
headline run is on a copy whose ``value`` column is shuffled across all
transfers with a fixed seed (timing and structure kept, AMLSim's small-amount
artefact gone); the original sample is run too. Three baselines rank accounts
by a naive rule, the smallest single transfer sent, the number of transfers,
and the number of same-day repeated transfers (AMLSim's second artefact, which
shuffling keeps: see :func:`same_day_repeats`), and flag the top ones: as many
as the detectors flagged (the same alert budget), and as many as there are SAR
accounts. Each fund-flow detector is also scored on its own (``by_detector``).
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from alerts.model import Alert
from detectors.config import DetectorConfig
from detectors.events import Event
from streams.engine import RiskEngine, run_events
from streams.progress import Progress

BASE_DATE = datetime(2026, 1, 1, tzinfo=timezone.utc)
STEP_S = 86_400.0
UNIT_CNY = 1_000.0
DEFAULT_SHUFFLE_SEED = 0
#: The fund-flow typologies whose alerts flag accounts; AMLSim typology -> the detector built for it.
FUND_FLOW = ("fan_in", "fan_out", "multiple_payers", "round_tripping", "rapid_in_out")
TYPOLOGY_DETECTOR = {"cycle": "round_tripping", "fan-in": "fan_in", "fan-out": "fan_out"}


class AmlsimDataError(ValueError):
    """An AMLSim sample cannot be read; the message names the file and the reason."""


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    #: AMLSim's pattern type from metadata.txt ("cycle", "fan-in"...), or None when absent or mixed.
    typology: str | None
    accounts: np.ndarray  # node ids
    sar: np.ndarray  # bool per account
    source: np.ndarray
    target: np.ndarray
    value: np.ndarray
    step: np.ndarray


def _read_csv(path: Path, columns: tuple[str, ...]) -> np.ndarray:
    try:
        with open(path) as f:
            header = tuple(c.strip() for c in f.readline().split(","))
            if header[:len(columns)] != columns:
                raise AmlsimDataError(f"{path}: expected the columns {','.join(columns)}, got {','.join(header)}")
            data = np.loadtxt(f, delimiter=",", usecols=range(len(columns)), ndmin=2)
    except OSError as exc:
        raise AmlsimDataError(f"{path}: {exc.strerror}") from None
    except ValueError as exc:
        raise AmlsimDataError(f"{path}: {exc}") from None
    return data


def read_sample(folder: Path) -> Sample:
    """``nodes.csv`` and ``transactions.csv`` (and the pattern type from ``metadata.txt``) of one sample."""
    folder = Path(folder)
    nodes = _read_csv(folder / "nodes.csv", ("nodeid", "isFraud"))
    tx = _read_csv(folder / "transactions.csv", ("sourceNodeId", "targetNodeId", "value", "time"))
    typology = None
    metadata = folder / "metadata.txt"
    if metadata.is_file():
        for line in metadata.read_text().splitlines():
            key, _, text = line.partition(":")
            words = text.split()
            if key.strip() == "patterns" and len(words) == 2:  # "200 cycles", "200 fan-in"
                typology = words[1].removesuffix("s")
    order = np.argsort(tx[:, 3], kind="stable")  # in time order (the file already is)
    tx = tx[order]
    if len(tx) and not np.all(tx[:, 2] > 0):
        raise AmlsimDataError(f"{folder / 'transactions.csv'}: a transfer value is not positive")
    return Sample(folder.name, typology, nodes[:, 0].astype(np.int64), nodes[:, 1] == 1,
                  tx[:, 0].astype(np.int64), tx[:, 1].astype(np.int64), tx[:, 2], tx[:, 3].astype(np.int64))


def shuffled(sample: Sample, seed: int) -> Sample:
    """The sample with its ``value`` column permuted across all transfers (fixed seed)."""
    return replace(sample, value=np.random.default_rng(seed).permutation(sample.value))


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def payment_events(sample: Sample) -> Iterator[dict]:
    """The sample's transfers as payment events in the worker's JSON form, in time order.

    Each names customer ``CU<source>``, because the codec requires a customer on a payment."""
    base = BASE_DATE.timestamp()
    for i, (src, dst, value, step) in enumerate(zip(sample.source.tolist(), sample.target.tolist(),
                                                    sample.value.tolist(), sample.step.tolist())):
        yield {"schema_version": 1, "event_id": f"TX{i}", "event_type": "surrender_payout",
               "event_time": _iso(base + (step - 1) * STEP_S), "policy_id": f"PO{src}", "customer_id": f"CU{src}",
               "payer_account_id": "AC-INSURER", "payee_account_id": f"AC{dst}",
               "policyholder_account_id": f"AC{src}", "amount": round(value * UNIT_CNY, 2), "currency": "CNY",
               "channel": "bank_transfer"}


def detector_events(sample: Sample) -> Iterator[Event]:
    """:func:`payment_events` as the codec decodes them, but without ``customer_id``.

    One customer per account carries no information (AMLSim has accounts
    only), and without it ``round_tripping`` keeps no customer index: its
    detector runs in about 8 s instead of 12 s on a 20,000-account sample.
    The alerts are the same (``tests/evaluation/test_amlsim.py`` checks it on
    a small sample).
    """
    base = BASE_DATE.timestamp()
    for i, (src, dst, value, step) in enumerate(zip(sample.source.tolist(), sample.target.tolist(),
                                                    sample.value.tolist(), sample.step.tolist())):
        yield Event(f"TX{i}", "surrender_payout", "payment", base + (step - 1) * STEP_S, policy_id=f"PO{src}",
                    amount=round(value * UNIT_CNY, 2), currency="CNY", channel="bank_transfer",
                    payer_account_id="AC-INSURER", payee_account_id=f"AC{dst}", policyholder_account_id=f"AC{src}")


def _node(ident: object) -> int | None:
    """The AMLSim node id behind ``AC<n>``, ``PO<n>`` or ``CU<n>``; None for anything else."""
    text = str(ident)
    return int(text[2:]) if text[:2] in ("AC", "PO", "CU") and text[2:].isdigit() else None


def accounts_of(alert: Alert) -> set[int]:
    """The node ids an alert flags: its entity and the members of the flow its evidence names."""
    evidence = alert.evidence
    named = [alert.entity_id]
    for key in ("accounts", "policies", "policyholders", "payer_accounts"):
        value = evidence.get(key)
        if isinstance(value, list):
            named.extend(value)
    return {n for n in map(_node, named) if n is not None}


def run_detectors(sample: Sample, config: DetectorConfig, progress: Progress | None = None) -> list[Alert]:
    """Every alert record the engine emits on the sample (openings, then updates as evidence grows)."""
    end = BASE_DATE.timestamp() + float(sample.step.max(initial=1)) * STEP_S
    events: Iterable[Event] = detector_events(sample)
    if progress is not None:
        events = progress.each(events)
    return list(run_events(RiskEngine(config, clock=lambda: end), events))


@dataclass(frozen=True, slots=True)
class AccountScore:
    flagged: int
    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict:
        return {"flagged": self.flagged, "precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4)}


def account_score(flagged: Iterable[int], sar: set[int]) -> AccountScore:
    flagged = set(flagged)
    hits = len(flagged & sar)
    precision = hits / len(flagged) if flagged else 0.0
    recall = hits / len(sar) if sar else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return AccountScore(len(flagged), precision, recall, f1)


def top_accounts(score: dict[int, float], k: int) -> list[int]:
    """The ``k`` accounts of highest score (ties: lower node id first)."""
    return sorted(score, key=lambda n: (-score[n], n))[:k]


def same_day_repeats(sample: Sample) -> dict[int, float]:
    """Per account, how many (sender, receiver, step) groups of more than one transfer it is in.

    AMLSim writes most pattern transfers several times over (the same sender,
    receiver and step, two to six times), and no ordinary transfer: a second
    artefact of the simulator, which shuffling amounts keeps. This baseline
    shows what leaning on it would score."""
    groups = np.stack([sample.source, sample.target, sample.step], axis=1)
    unique, counts = np.unique(groups, axis=0, return_counts=True)
    repeated = unique[counts > 1]
    members = np.bincount(repeated[:, :2].ravel(), minlength=int(sample.accounts.max()) + 1)
    return {int(n): float(members[n]) for n in sample.accounts}


def baselines(sample: Sample, budget: int, sar: set[int]) -> dict[str, dict]:
    """Flag ``budget`` accounts by a naive rule: smallest transfer sent; most transfers; most same-day repeats."""
    smallest: dict[int, float] = {}
    for src, value in zip(sample.source.tolist(), sample.value.tolist()):
        smallest[src] = min(smallest.get(src, np.inf), value)
    activity = np.bincount(np.concatenate([sample.source, sample.target]), minlength=int(sample.accounts.max()) + 1)
    return {
        "small_amount_senders": account_score(top_accounts({n: -v for n, v in smallest.items()}, budget), sar).to_dict(),
        "activity": account_score(top_accounts({int(n): float(activity[n]) for n in sample.accounts}, budget),
                                  sar).to_dict(),
        "same_day_repeats": account_score(top_accounts(same_day_repeats(sample), budget), sar).to_dict(),
    }


def score_run(sample: Sample, alerts: list[Alert]) -> tuple[dict, list[int]]:
    """Account-level scores of one run (overall, per typology detector, baselines) and the flagged ids.

    ``alerts`` are every record of the run: an account named by any record of an alert is flagged."""
    sar = set(sample.accounts[sample.sar].tolist())
    known = set(sample.accounts.tolist())
    flows = [a for a in alerts if a.typology in FUND_FLOW]
    flagged = set().union(*(accounts_of(a) for a in flows)) & known if flows else set()
    overall = account_score(flagged, sar)
    result = overall.to_dict()
    ids = {(a.typology, a.alert_id) for a in flows}
    result["alerts"] = {t: sum(typology == t for typology, _ in ids) for t in sorted({t for t, _ in ids})}
    # Each detector on its own against every SAR account: on a sample of mixed typologies (no label says
    # which pattern an account is in) this is what shows each detector's share.
    result["by_detector"] = {t: account_score(set().union(*(accounts_of(a) for a in flows if a.typology == t))
                                              & known, sar).to_dict() for t in result["alerts"]}
    detector = TYPOLOGY_DETECTOR.get(sample.typology or "")
    if detector is not None:
        own = [a for a in flows if a.typology == detector]
        mine = set().union(*(accounts_of(a) for a in own)) & known if own else set()
        result["typology"] = {"name": sample.typology, "detector": detector, **account_score(mine, sar).to_dict()}
    result["baselines"] = baselines(sample, len(flagged), sar)
    result["baselines_at_sar_count"] = baselines(sample, len(sar), sar)
    return result, sorted(flagged)


def sized_for(config: DetectorConfig, sample: Sample) -> DetectorConfig:
    """``config`` with ``round_tripping.max_edges`` raised, if need be, to hold every transfer of one window.

    A capacity, not a detection threshold: the default (20,000) is sized for an
    insurer's third-party flows, and an AMLSim sample holds about 24,000
    transfers in 30 days. Past the cap the graph drops its oldest transfers
    (less than the window is searched), and finding the oldest scans every
    transfer held, on every new one.
    """
    rt = config.round_tripping
    steps = np.bincount(sample.step) if len(sample.step) else np.zeros(1, dtype=np.int64)
    span = max(1, int(np.ceil(rt.window_s / STEP_S)))
    per_window = np.convolve(steps, np.ones(span + 1, dtype=np.int64))  # transfers within any window_s span
    need = int(per_window.max()) + 1
    if need <= rt.max_edges:
        return config
    return replace(config, round_tripping=replace(rt, max_edges=need))


def evaluate_amlsim(data_dir: Path, flagged_path: Path, config: DetectorConfig | None = None,
                    shuffle_seed: int | None = DEFAULT_SHUFFLE_SEED, progress: Progress | None = None) -> dict:
    """Run the sample as given and (the headline) with its amounts shuffled; write the headline's flagged ids.

    The JSON of the command: ``accounts``, ``sar_accounts`` and the headline
    run's ``flagged``, ``precision``, ``recall``, ``f1`` (plus ``alerts`` per
    typology, ``typology`` and ``baselines``) at the top, the same for the
    sample as given under ``original``, and the mapping used. With
    ``shuffle_seed`` None, only the sample as given is run and it is the headline.
    """
    started = time.perf_counter()
    sample = read_sample(data_dir)
    config = sized_for(config or DetectorConfig(), sample)
    runs = [("original", sample)]
    if shuffle_seed is not None:
        runs.append(("shuffled", shuffled(sample, shuffle_seed)))
    if progress is not None:
        progress.total = len(runs) * len(sample.source)
    scored = {}
    for name, variant in runs:
        scored[name] = score_run(variant, run_detectors(variant, config, progress))
    headline, flagged = scored[runs[-1][0]]
    Path(flagged_path).write_text("".join(f"{n}\n" for n in flagged))
    result = {
        "sample": sample.name,
        "sample_typology": sample.typology,
        "accounts": int(len(sample.accounts)),
        "sar_accounts": int(sample.sar.sum()),
        "transfers": int(len(sample.source)),
        **headline,
        "amounts": "shuffled" if shuffle_seed is not None else "original",
        "shuffle_seed": shuffle_seed,
        "mapping": {"event_type": "surrender_payout", "base_date": BASE_DATE.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "step_s": STEP_S, "unit_cny": UNIT_CNY,
                    "round_tripping_max_edges": config.round_tripping.max_edges},
    }
    if shuffle_seed is not None:
        result["original"] = scored["original"][0]
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _row(label: str, run: dict) -> list[str]:
    lines = [f"{label:34} {run['flagged']:8d} {run['precision']:9.3f} {run['recall']:7.3f} {run['f1']:6.3f}"]
    if "typology" in run:
        t = run["typology"]
        lines.append(f"  {t['detector'] + ' (' + t['name'] + ')':32} {t['flagged']:8d} {t['precision']:9.3f} "
                     f"{t['recall']:7.3f} {t['f1']:6.3f}")
    for name, d in run.get("by_detector", {}).items():
        lines.append(f"  detector {name:23} {d['flagged']:8d} {d['precision']:9.3f} {d['recall']:7.3f} {d['f1']:6.3f}")
    for key in ("baselines", "baselines_at_sar_count"):
        for name, b in run[key].items():
            lines.append(f"  baseline {name:23} {b['flagged']:8d} {b['precision']:9.3f} {b['recall']:7.3f} "
                         f"{b['f1']:6.3f}")
    return lines


def format_amlsim(result: dict) -> str:
    m = result["mapping"]
    lines = [f"{result['sample']}: {result['accounts']} accounts, {result['sar_accounts']} SAR, "
             f"{result['transfers']} transfers as {m['event_type']} from {m['base_date']}, one step = "
             f"{m['step_s'] / 3600:g} h, one unit = {m['unit_cny']:,.0f} CNY; {result['seconds']} s",
             f"{'run':34} {'flagged':>8} {'precision':>9} {'recall':>7} {'f1':>6}"]
    if "original" in result:
        lines += _row("amounts as given", result["original"])
    label = f"amounts shuffled (seed {result['shuffle_seed']})" if result["amounts"] == "shuffled" \
        else "amounts as given"
    lines += _row(label + " *", result)
    lines.append("* headline; each baseline flags as many accounts as the detectors did, then as many as are SAR")
    return "\n".join(lines)
