"""`riskwatch demo` shows events and alerts live, and Ctrl-C leaves no process behind."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The parent pid is the 2nd field after the parenthesised command name.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_demo_shows_alerts_and_ctrl_c_stops_everything(tmp_path):
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        demo = subprocess.Popen([sys.executable, "-m", "streams.cli", "demo", "--rate", "400"],
                                stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 90
        text = ""
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if "first alert" in text and "-- processed" in text and "CRITICAL" in text:
                break
            assert demo.poll() is None, text
            time.sleep(0.5)
        else:
            raise AssertionError(f"no alert shown within 90 s:\n{text[-3000:]}")
        children = _children(demo.pid)
        assert len(children) >= 2  # the broker and the worker
        demo.send_signal(signal.SIGINT)
        assert demo.wait(60) == 0
        time.sleep(0.5)
        assert not [pid for pid in children if _alive(pid)]
        assert "stopped the generator, the worker and the broker" in log.read_text()
    finally:
        if demo.poll() is None:
            os.kill(demo.pid, signal.SIGKILL)
