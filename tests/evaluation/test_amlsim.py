"""evaluate amlsim: an AMLSim-format sample mapped onto payment events and scored per account."""
from __future__ import annotations

import dataclasses

import numpy as np
import orjson
import pytest

from detectors.config import DetectorConfig
from streams.amlsim import (
    AmlsimDataError, accounts_of, detector_events, evaluate_amlsim, payment_events, read_sample, run_detectors,
    same_day_repeats, shuffled, sized_for,
)
from streams.cli import main
from streams.codec import decode_event

SAR = {0, 1, 2, 10, 11, 12, 13, 14, 15}  # 14 sends to 15 after the fan-in alert


@pytest.fixture()
def sample_dir(tmp_path):
    """30 accounts: a SAR cycle 0->1->2->0, a SAR fan-in 10..14 -> 15 (alert at the 4th sender), and ordinary transfers
    among 20..29 that hold one (unlabelled) cycle 20->21->22->20 and no fan-in."""
    transfers = [(0, 1, 14.0, 1), (1, 2, 14.0, 2), (2, 0, 14.0, 3)]
    transfers += [(10 + i, 15, 3.5, 2 + 2 * i) for i in range(5)]
    transfers += [(20, 21, 250.0, 4), (21, 22, 260.0, 5), (22, 20, 240.0, 6)]
    transfers += [(20 + i, 21 + i, 300.0 + i, 10 + i) for i in range(2, 9)]
    transfers.sort(key=lambda t: t[3])
    folder = tmp_path / "tiny_cycle"
    folder.mkdir()
    (folder / "nodes.csv").write_text("nodeid,isFraud,init_balance,fraudStep\n" + "".join(
        f"{n},{int(n in SAR)},100.0,-1\n" for n in range(30)))
    (folder / "transactions.csv").write_text("sourceNodeId,targetNodeId,value,time\n" + "".join(
        f"{s},{d},{v},{t}\n" for s, d, v, t in transfers))
    (folder / "metadata.txt").write_text("nodes: 30 (9 fraud nodes)\ntransactions: 18\npatterns: 2 cycles\n")
    return folder


def test_the_mapping_is_valid_worker_input_and_the_same_events_the_detectors_get(sample_dir):
    sample = read_sample(sample_dir)
    end = 1e10
    decoded = [decode_event(orjson.dumps(e), None, end) for e in payment_events(sample)]
    direct = list(detector_events(sample))
    assert [dataclasses.replace(e, customer_id=None) for e in decoded] == direct
    first = direct[0]
    assert (first.event_type, first.policyholder_account_id, first.payee_account_id, first.amount) == (
        "surrender_payout", "AC0", "AC1", 14_000.0)
    assert first.time == 1767225600.0  # 2026-01-01T00:00:00Z, step 1
    assert direct[1].time - first.time == 86_400.0  # one step, one day


def test_alerts_are_the_same_with_one_customer_per_account(sample_dir):
    from streams.engine import RiskEngine, run_events

    sample = read_sample(sample_dir)
    decoded = [decode_event(orjson.dumps(e), None, 1e10) for e in payment_events(sample)]
    with_customers = list(run_events(RiskEngine(DetectorConfig(), clock=lambda: 0.0), decoded))
    without = run_detectors(sample, DetectorConfig())
    assert {(a.typology, a.entity_id, a.window_start, frozenset(accounts_of(a))) for a in with_customers} == {
        (a.typology, a.entity_id, a.window_start, frozenset(accounts_of(a))) for a in without}


def test_scores_worked_by_hand(sample_dir, tmp_path):
    flagged_file = tmp_path / "flagged.txt"
    result = evaluate_amlsim(sample_dir, flagged_file, shuffle_seed=None)
    # Flagged: the cycle 0,1,2, the fan-in subject 15 and the 4 senders its alert names (10..13; 14 came
    # later and raised no new finding), the ordinary cycle 20,21,22.
    assert flagged_file.read_text().split() == [str(n) for n in (0, 1, 2, 10, 11, 12, 13, 15, 20, 21, 22)]
    assert (result["accounts"], result["sar_accounts"], result["flagged"]) == (30, 9, 11)
    p, r = 8 / 11, 8 / 9
    assert (result["precision"], result["recall"], result["f1"]) == (round(p, 4), round(r, 4), round(2 * p * r / (p + r), 4))
    assert result["alerts"] == {"fan_in": 1, "round_tripping": 2}
    cycle = result["typology"]
    assert (cycle["name"], cycle["detector"], cycle["flagged"], cycle["precision"], cycle["recall"]) == (
        "cycle", "round_tripping", 6, 0.5, round(3 / 9, 4))
    # Baselines at the same budget (11): the smallest senders are the 8 SAR senders, then 22, 20 and 21.
    small = result["baselines"]["small_amount_senders"]
    assert (small["flagged"], small["precision"], small["recall"]) == (11, round(8 / 11, 4), round(8 / 9, 4))
    # Each detector alone: fan_in names 10..13 and 15 (5, all SAR); round_tripping 0,1,2 and 20,21,22.
    by = result["by_detector"]
    assert (by["fan_in"]["flagged"], by["fan_in"]["precision"]) == (5, 1.0)
    assert (by["round_tripping"]["flagged"], by["round_tripping"]["precision"]) == (6, 0.5)


def test_same_day_repeats_count_the_groups_an_account_is_in(sample_dir):
    sample = read_sample(sample_dir)
    twice = dataclasses.replace(sample, source=np.append(sample.source, [0, 20]), target=np.append(sample.target, [1, 25]),
                                value=np.append(sample.value, [14.0, 99.0]), step=np.append(sample.step, [1, 30]))
    repeats = same_day_repeats(twice)
    assert {n for n, c in repeats.items() if c} == {0, 1} and repeats[0] == 1.0
    assert not any(same_day_repeats(sample).values())


def test_shuffling_keeps_structure_and_timing(sample_dir):
    sample = read_sample(sample_dir)
    copy = shuffled(sample, 0)
    assert np.array_equal(copy.source, sample.source) and np.array_equal(copy.step, sample.step)
    assert sorted(copy.value) == sorted(sample.value) and not np.array_equal(copy.value, sample.value)
    assert np.array_equal(shuffled(sample, 0).value, copy.value)


def test_the_round_tripping_graph_is_sized_to_hold_one_window(sample_dir):
    sample = read_sample(sample_dir)
    assert sized_for(DetectorConfig(), sample) == DetectorConfig()  # 18 transfers: the default holds them
    small = dataclasses.replace(DetectorConfig().round_tripping, max_edges=5)
    config = dataclasses.replace(DetectorConfig(), round_tripping=small)
    assert sized_for(config, sample).round_tripping.max_edges == 19


def test_the_command_runs_both_copies_and_prints_the_documented_json(sample_dir, tmp_path, capsys):
    flagged = tmp_path / "flagged.txt"
    assert main(["evaluate", "amlsim", "--data", str(sample_dir), "--flagged", str(flagged), "--json"]) == 0
    result = orjson.loads(capsys.readouterr().out)
    assert {"accounts", "sar_accounts", "flagged", "precision", "recall", "f1"} <= set(result)
    assert {"flagged", "precision", "recall", "f1"} <= set(result["original"])
    assert result["amounts"] == "shuffled" and result["shuffle_seed"] == 0
    assert result["mapping"]["step_s"] == 86_400.0 and result["mapping"]["base_date"] == "2026-01-01T00:00:00Z"
    assert len(flagged.read_text().split()) == result["flagged"]


def test_a_missing_file_is_an_error_naming_it(tmp_path, capsys):
    assert main(["evaluate", "amlsim", "--data", str(tmp_path), "--flagged", str(tmp_path / "f.txt")]) == 2
    assert "nodes.csv" in capsys.readouterr().err
