"""The evaluation commands are wired into the riskwatch command and describe their options."""
from __future__ import annotations

import pytest

from streams.cli import build_parser


@pytest.mark.parametrize("argv, expected", [
    (["evaluate", "nab", "--help"], "--windows"),
    (["evaluate", "amlsim", "--help"], "--flagged"),
    (["evaluate", "generated", "--help"], "--chart"),
    (["whatif", "--help"], "--config"),
])
def test_help(argv, expected, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 0
    assert expected in capsys.readouterr().out


def test_whatif_needs_two_configurations(tmp_path, capsys):
    from streams.cli import main

    events = tmp_path / "events.jsonl"
    events.write_text("")
    config = tmp_path / "a.json"
    config.write_text("{}")
    assert main(["whatif", "--config", str(config), str(events)]) == 2
    assert "two --config" in capsys.readouterr().err
