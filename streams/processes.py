"""Starting and stopping riskwatch's own child processes (used by ``demo`` and the tests)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def start_riskwatch(args: list[str], env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Run ``riskwatch ARGS`` in its own session with ``env`` laid over ours, output to ``log_path``."""
    full_env = {**os.environ, **env}
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "streams.cli", *args], env=full_env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 20.0) -> int:
    """SIGTERM, then SIGKILL after ``timeout_s``; returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout_s)
    return process.returncode
