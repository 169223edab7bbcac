"""The processes ``riskwatch bench`` starts, and what it reads from them.

A :class:`BenchWorker` is one ``riskwatch worker`` subprocess on its own app id
(consumer group, tables), data directory and metrics port; its figures come
from one scrape of its ``/metrics`` and its resident memory from
``/proc/<pid>/status``. A :class:`FrameworkCeiling` is the decode-only faust
app of :mod:`streams.bench_framework`. Both are stopped by their own PID.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from prometheus_client.parser import text_string_to_metric_families

from streams.processes import start_riskwatch, stop_process


#: A worker with work to do that processes nothing for this long (s) has stalled.
STALL_S = 60.0


class BenchError(RuntimeError):
    """A bench stage could not produce its figure (a process exited, a wait timed out)."""


@dataclass(frozen=True, slots=True)
class WorkerFigures:
    """What one scrape of a worker's ``/metrics`` says (counters since the process started)."""

    consumed: float = 0.0
    keyed: float = 0.0
    rejected: float = 0.0
    alerts: float = 0.0
    ready: bool = False
    #: Sum of ``riskwatch_state_entities`` over detectors (refreshed by the worker every 15 s).
    state_entities: float = 0.0
    at: float = 0.0  # time.monotonic() of the scrape


def parse_figures(text: str, at: float) -> WorkerFigures:
    values = {"consumed": 0.0, "keyed": 0.0, "rejected": 0.0, "alerts": 0.0, "state_entities": 0.0}
    ready = False
    names = {"riskwatch_events_consumed_total": "consumed", "riskwatch_keyed_events_total": "keyed",
             "riskwatch_events_rejected_total": "rejected", "riskwatch_alerts_emitted_total": "alerts",
             "riskwatch_state_entities": "state_entities"}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in names:
                values[names[sample.name]] += sample.value
            elif sample.name == "riskwatch_worker_ready":
                ready = sample.value == 1
    return WorkerFigures(ready=ready, at=at, **values)


@dataclass
class BenchWorker:
    """One ``riskwatch worker`` process; ``env`` names its topics, app id, port and data directory."""

    name: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0  # time.monotonic() when the process was started
    history: list[WorkerFigures] = field(default_factory=list)

    @property
    def metrics_url(self) -> str:
        return f"http://{self.env['RISKWATCH_METRICS_ADDR']}/metrics"

    def start(self) -> "BenchWorker":
        self.started_at = time.monotonic()
        self.process = start_riskwatch(["worker", "--loglevel", "warning"], self.env, self.log_path)
        return self

    def figures(self) -> WorkerFigures | None:
        """One scrape, or None while the web server is not up."""
        self._check_alive()
        try:
            with urllib.request.urlopen(self.metrics_url, timeout=5) as response:
                text = response.read().decode()
        except OSError:
            return None
        figures = parse_figures(text, time.monotonic())
        self.history.append(figures)
        return figures

    def wait(self, done: Callable[[WorkerFigures], bool], timeout_s: float, what: str,
             interval_s: float = 0.1) -> WorkerFigures:
        """Scrape every ``interval_s`` until ``done`` holds; the first scrape for which it did.

        Gives up after ``timeout_s``, or once a worker that had started
        processing has made no progress for :data:`STALL_S` (see README,
        "Performance": a long backlog can cost the worker its group membership).
        """
        deadline = time.monotonic() + timeout_s
        last = None
        progress, moved = None, time.monotonic()
        while time.monotonic() < deadline:
            figures = self.figures()
            if figures is not None:
                last = figures
                if done(figures):
                    return figures
                now = (figures.consumed, figures.rejected, figures.keyed)
                if now != progress:
                    progress, moved = now, time.monotonic()
                elif sum(now) > 0 and time.monotonic() - moved > STALL_S:
                    raise BenchError(f"{self.name}: no progress for {STALL_S:.0f} s while waiting for {what} "
                                     f"(last: {last}); log {self.log_path}:\n{self.log_tail()}")
            time.sleep(interval_s)
        raise BenchError(f"{self.name}: {what} not reached within {timeout_s:.0f} s (last: {last}); "
                         f"log {self.log_path}:\n{self.log_tail()}")

    def rss_bytes(self) -> int:
        """Resident memory (VmRSS) of the worker process."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise BenchError(f"{self.name}: no VmRSS in /proc/{self.process.pid}/status")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def terminate(self) -> None:
        """Ask the worker to stop (SIGTERM) without waiting; :meth:`stop` waits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def _check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise BenchError(f"{self.name}: worker exited; log {self.log_path}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class FrameworkCeiling:
    """The decode-only faust app (:mod:`streams.bench_framework`) in a subprocess."""

    env: dict[str, str]
    expect: int
    report_path: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> "FrameworkCeiling":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams.bench_framework", "--expect", str(self.expect),
                 "--report", str(self.report_path)],
                env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_report(self, timeout_s: float) -> dict[str, float]:
        """``{"first": t, "last": t, "count": n}`` (wall-clock seconds) once all events are decoded."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.report_path.exists():
                return orjson.loads(self.report_path.read_bytes())
            if self.process is None or self.process.poll() is not None:
                break
            time.sleep(0.1)
        tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:]) if self.log_path.exists() else ""
        raise BenchError(f"framework ceiling app did not decode {self.expect} events within {timeout_s:.0f} s; "
                         f"log {self.log_path}:\n{tail}")

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


def stop_all(processes: Iterable[BenchWorker | FrameworkCeiling]) -> None:
    """Stop every process the bench started (each by its own PID), whatever happened before:
    all are asked at once, then each is waited for (and killed if it does not stop)."""
    processes = list(processes)
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.stop()
        except Exception:  # noqa: BLE001 - keep stopping the others
            pass
