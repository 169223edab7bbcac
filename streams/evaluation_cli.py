"""The ``evaluate nab``, ``evaluate amlsim`` and ``whatif`` commands: arguments, and calls to the
functions the tests call (``streams.nab_benchmark``, ``streams.amlsim``, ``streams.whatif``).

Each prints a table, or with ``--json`` one JSON object (keys in README's
"Evaluation"); progress goes to stderr, and only on a terminal.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from streams.progress import Progress


def _print(result: dict, as_json: bool, table: str) -> None:
    print(orjson.dumps(result).decode() if as_json else table)


def cmd_evaluate_nab(args: argparse.Namespace, settings) -> int:
    from streams.nab import NabDataError
    from streams.nab_benchmark import SCORERS, evaluate_nab, format_nab_table, series_count

    if args.select:
        return _select_nab(args)
    try:
        with Progress(len(SCORERS) * series_count(args.data), "scoring") as bar:
            result = evaluate_nab(args.data, args.windows, args.out, progress=bar)
    except NabDataError as exc:
        print(f"riskwatch: {exc}", file=sys.stderr)
        return 2
    output = {"default_scorer": result["default_scorer"], "scorers": result["scorers"]}
    _print(output, args.json, format_nab_table(result))
    return 0


def _select_nab(args: argparse.Namespace) -> int:
    from streams.nab import NabDataError
    from streams.nab_selection import CANDIDATES, format_selection, select_default

    try:
        with Progress(len(CANDIDATES), "candidates") as bar:
            result = select_default(args.data, args.windows, progress=bar)
    except NabDataError as exc:
        print(f"riskwatch: {exc}", file=sys.stderr)
        return 2
    _print(result, args.json, format_selection(result))
    return 0


def cmd_evaluate_amlsim(args: argparse.Namespace, settings) -> int:
    from streams.amlsim import AmlsimDataError, evaluate_amlsim, format_amlsim

    try:
        with Progress(0, "transfers") as bar:
            result = evaluate_amlsim(args.data, args.flagged, settings.detectors,
                                     shuffle_seed=None if args.no_shuffle else args.shuffle_seed,
                                     progress=bar)
    except AmlsimDataError as exc:
        print(f"riskwatch: {exc}", file=sys.stderr)
        return 2
    _print(result, args.json, format_amlsim(result))
    return 0


def cmd_whatif(args: argparse.Namespace, settings) -> int:
    from detectors.config import ConfigError
    from streams.whatif import format_whatif, whatif

    if len(args.config) != 2:
        print("riskwatch: whatif needs exactly two --config files (A, then B)", file=sys.stderr)
        return 2
    try:
        with Progress(0, "events") as bar:
            result = whatif(args.events, args.config[0], args.config[1], progress=bar)
    except ConfigError as exc:
        print(f"riskwatch: {exc}", file=sys.stderr)
        return 2
    _print(result, args.json, format_whatif(result))
    return 0


def add_evaluations(evaluate: argparse._SubParsersAction) -> None:
    """``evaluate nab`` and ``evaluate amlsim`` under the ``evaluate`` command."""
    e = evaluate.add_parser("nab", help="our streaming scorers over the Numenta Anomaly Benchmark: "
                            "results in NAB's layout and NAB scores per profile")
    e.add_argument("--data", type=Path, required=True, help="NAB data folder: <category>/<name>.csv (timestamp,value)")
    e.add_argument("--windows", type=Path, required=True, help="NAB's combined_windows.json for those files")
    e.add_argument("--out", type=Path, required=True,
                   help="results folder: <out>/<scorer>/<category>/<scorer>_<name>.csv (timestamp,anomaly_score)")
    e.add_argument("--json", action="store_true",
                   help='one JSON object: {"default_scorer": NAME, "scorers": {NAME: {PROFILE: score}}}')
    e.add_argument("--select", action="store_true",
                   help="instead, choose the default scorer from a grid of candidates by leave-one-category-out "
                        "(streams/nab_selection.py; --out is not written)")
    e.set_defaults(func=cmd_evaluate_nab)

    e = evaluate.add_parser("amlsim", help="an AMLSim sample as payment events through the fund-flow detectors: "
                            "account-level precision, recall and F1 against isFraud")
    e.add_argument("--data", type=Path, required=True, help="folder with nodes.csv and transactions.csv")
    e.add_argument("--flagged", type=Path, required=True, help="write the flagged account ids here, one per line")
    e.add_argument("--shuffle-seed", type=int, default=0,
                   help="seed of the shuffle of amounts across all transfers for the headline copy (default 0)")
    e.add_argument("--no-shuffle", action="store_true", help="run only the sample as given (it is the headline)")
    e.add_argument("--json", action="store_true",
                   help='one JSON object: {"accounts", "sar_accounts", "flagged", "precision", "recall", "f1", ...}')
    e.set_defaults(func=cmd_evaluate_amlsim)


def add_whatif(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("whatif", help="one history through two threshold files: alert counts side by side, "
                       "and the alerts that appear or disappear")
    p.add_argument("events", type=Path, help="events as JSON lines (as for replay)")
    p.add_argument("--config", type=Path, action="append", required=True, metavar="THRESHOLDS.json",
                   help="a thresholds file (the RISKWATCH_THRESHOLDS format); give it twice: A, then B")
    p.add_argument("--json", action="store_true", help="one JSON object (keys in README, Evaluation)")
    p.set_defaults(func=cmd_whatif)
