"""``riskwatch demo``: broker, topics, worker and generator together, live in the terminal.

Everything runs on loopback with free ports; Ctrl-C (or ``--duration``) stops
what was started, in reverse order, and leaves no process behind.
"""
from __future__ import annotations

import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from streams.broker import EmbeddedBroker, free_port
from streams.generator import GeneratorConfig, duration_days, generate, scale_scenarios
from streams.metrics import scrape_progress
from streams.processes import start_riskwatch, stop_process
from streams.publish import produce
from streams.settings import Settings
from streams.tail import format_alert, tail_alerts
from streams.topics import ensure_topics


#: Each generated batch covers this many seconds at the demo's rate, so the
#: first events flow at once and the demo can run indefinitely.
BATCH_SECONDS = 10.0


def _generate_forever(settings: Settings, rate: float, seed: int, stop: threading.Event, limit_s: float | None) -> None:
    started = time.monotonic()
    while not stop.is_set():
        if limit_s is not None and time.monotonic() - started >= limit_s:
            return
        batch = max(2_000, int(rate * BATCH_SECONDS))
        # A new seed per batch: new entities, new event ids, new scenarios.
        start = time.time() - duration_days(batch) * 86_400.0  # a timeline ending now
        events, _truth = generate(GeneratorConfig(seed=seed, events=batch, start=start,
                                                  scenario_mix=scale_scenarios(batch)))
        produce(settings, events, rate=rate, should_stop=stop.is_set)
        seed += 1


def run_demo(settings: Settings, rate: float = 200.0, duration: float | None = None, seed: int = 0) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="riskwatch-demo-"))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    started = time.monotonic()
    broker = EmbeddedBroker(log_file=workdir / "broker.log").start()
    worker = None
    threads: list[threading.Thread] = []
    try:
        settings = settings.with_broker(broker.url)
        ensure_topics(settings)
        metrics_port = free_port()
        worker = start_riskwatch(["worker", "--loglevel", "warning"], {
            "RISKWATCH_BROKER_URL": broker.url,
            "RISKWATCH_METRICS_ADDR": f"127.0.0.1:{metrics_port}",
            "RISKWATCH_DATA_DIR": str(workdir / "worker-data"),
        }, workdir / "worker.log")
        print(f"riskwatch demo: broker {broker.url}, worker metrics http://127.0.0.1:{metrics_port}/metrics, "
              f"logs in {workdir}. Ctrl-C stops everything.", flush=True)
        first_alert: list[float] = []

        def show(alert: dict, _raw: bytes) -> None:
            if not first_alert:
                first_alert.append(time.monotonic() - started)
                print(f"-- first alert {first_alert[0]:.1f} s after start", flush=True)
            print(format_alert(alert), flush=True)

        threads = [
            threading.Thread(target=tail_alerts, name="tail", daemon=True,
                             kwargs=dict(settings=settings, from_beginning=True, on_alert=show, should_stop=stop.is_set)),
            threading.Thread(target=_generate_forever, name="generate", daemon=True,
                             args=(settings, rate, seed, stop, duration)),
        ]
        for thread in threads:
            thread.start()
        _report_progress(f"http://127.0.0.1:{metrics_port}/metrics", worker, stop, duration, started)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        if worker is not None:
            stop_process(worker)
        broker.stop()
        print("riskwatch demo: stopped the generator, the worker and the broker.", flush=True)
    return 0


def _report_progress(metrics_url: str, worker, stop: threading.Event, duration: float | None, started: float) -> None:
    last_total, last_time = 0.0, time.monotonic()
    while not stop.wait(5.0):
        if worker.poll() is not None:
            print(f"riskwatch demo: the worker exited with code {worker.returncode}; see its log", file=sys.stderr)
            return
        try:
            counts = scrape_progress(metrics_url)
        except OSError:
            continue  # the worker's web server is still starting
        total = counts.consumed
        now = time.monotonic()
        rate = (total - last_total) / (now - last_time)
        last_total, last_time = total, now
        topics = "  ".join(f"{t} {n:,.0f}" for t, n in sorted(counts.consumed_per_topic.items()))
        print(f"-- processed {total:,.0f} events ({rate:,.0f}/s): {topics}  rejected {counts.rejected:,.0f}  "
              f"alerts {counts.alerts:,.0f}", flush=True)
        if duration is not None and now - started > duration + 10:
            return
