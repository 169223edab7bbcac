"""The riskwatch command as scripts use it: help, generate to a file, replay with a rejected file."""
from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from streams.cli import build_parser, main

SUBCOMMANDS = ["broker", "topics", "worker", "generate", "replay", "tail", "demo", "act", "evaluate", "whatif",
               "bench"]


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert command in capsys.readouterr().out


def test_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "streams.cli", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "replay" in result.stdout


def test_generate_same_seed_same_bytes(tmp_path):
    paths = []
    for run in range(2):
        out, truth = tmp_path / f"events{run}.jsonl", tmp_path / f"truth{run}.jsonl"
        assert main(["generate", "--seed", "5", "--events", "1500", "--out", str(out), "--truth", str(truth)]) == 0
        paths.append((out.read_bytes(), truth.read_bytes()))
    assert paths[0] == paths[1]
    assert len(paths[0][0].splitlines()) == 1500
    assert main(["generate", "--seed", "6", "--events", "1500", "--out", str(tmp_path / "other.jsonl")]) == 0
    assert (tmp_path / "other.jsonl").read_bytes() != paths[0][0]


def test_replay_writes_alerts_and_rejects_bad_lines_with_line_numbers(tmp_path):
    events = tmp_path / "events.jsonl"
    assert main(["generate", "--seed", "3", "--events", "2000", "--out", str(events)]) == 0
    clean_alerts = tmp_path / "clean.jsonl"
    assert main(["replay", str(events), "--out", str(clean_alerts)]) == 0
    lines = events.read_bytes().splitlines()
    # Line 3 becomes garbage and line 6 loses its event_id: both rejected, the run goes on.
    dropped = {orjson.loads(lines[2])["event_id"], orjson.loads(lines[5])["event_id"]}
    lines[2] = b"{broken"
    sixth = orjson.loads(lines[5])
    del sixth["event_id"]
    lines[5] = orjson.dumps(sixth)
    events.write_bytes(b"\n".join(lines) + b"\n")
    alerts, rejected = tmp_path / "alerts.jsonl", tmp_path / "rejected.jsonl"
    assert main(["replay", str(events), "--out", str(alerts), "--dlq", str(rejected)]) == 0
    rejects = [orjson.loads(line) for line in rejected.read_bytes().splitlines()]
    assert [(r["line"], r["reason"]) for r in rejects] == [(3, "undecodable"), (6, "missing_field")]
    before = [orjson.loads(line) for line in clean_alerts.read_bytes().splitlines()]
    after = {orjson.loads(line)["alert_id"] for line in alerts.read_bytes().splitlines()}
    assert before, "the generated file should hold scenarios"
    untouched = {a["alert_id"] for a in before if not dropped & set(a["evidence"]["event_ids"])}
    assert untouched <= after


def test_replay_tiers_and_deadlines_by_the_configured_alert_policy(tmp_path, monkeypatch):
    events = tmp_path / "events.jsonl"
    assert main(["generate", "--seed", "3", "--events", "2000", "--out", str(events)]) == 0
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_bytes(orjson.dumps({"alert_policy": {"ack_deadline_s": {"medium": 3600.0}}}))

    def medium_deadlines(env: str | None) -> set:
        if env:
            monkeypatch.setenv("RISKWATCH_THRESHOLDS", env)
        alerts = tmp_path / "alerts.jsonl"
        assert main(["replay", str(events), "--out", str(alerts)]) == 0
        records = [orjson.loads(line) for line in alerts.read_bytes().splitlines()]
        return {a["ack_deadline"] is not None for a in records if a["tier"] == "medium"}

    assert medium_deadlines(None) == {False}  # by default only high and critical have a deadline
    assert medium_deadlines(str(thresholds)) == {True}


def test_a_reader_that_stops_early_ends_the_command_quietly():
    command = [sys.executable, "-m", "streams.cli", "generate", "--seed", "1", "--events", "20000", "--out", "/dev/stdout"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.readline().startswith(b"{")
    process.stdout.close()  # what `| head -1` does
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 141 and b"Traceback" not in stderr
