"""``riskwatch bench``: throughput, latency, memory, restart and scaling, measured in one run.

It starts what it needs (the embedded broker on a free loopback port, fresh
topics, worker processes with their own app ids, metrics ports and data
directories), produces the generated events once, and runs each stage over
those same events:

1. ``raw_consume``: a bare aiokafka loop that decodes with orjson, nothing else;
2. ``framework_ceiling``: a faust app with the worker's settings whose agents
   only decode (:mod:`streams.bench_framework`);
3. ``worker``: the real worker (every detector, state in changelogged tables,
   alerts produced, metrics updated);
4. ``replay``: ``riskwatch replay``'s code over the same events from a file.

Then, on their own loads: latency from produce to a readable alert at a fixed
offered rate, resident memory per tracked entity, start and restart times, and
two workers against one. Each throughput stage is timed from its first event to
its last, never including process start (``startup_s`` measures that). The JSON
keys are documented in README, "Performance"; every process started is stopped
by its PID on the way out.
"""
from __future__ import annotations

import logging
import os
import platform
import shutil
import signal
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from streams.bench_consume import AlertTail, raw_consume
from streams.bench_load import (Load, entity_load, latency_load, main_load, probe, send, send_at_rate,
                                timeline)
from streams.bench_procs import BenchError, BenchWorker, FrameworkCeiling, stop_all
from streams.bench_report import goals
from streams.broker import EmbeddedBroker, free_port
from streams.engine import DictStateStore, RiskEngine
from streams.replay import replay
from streams.settings import Settings, load_settings
from streams.topics import ensure_topics

log = logging.getLogger("riskwatch.bench")

#: The worker refreshes ``riskwatch_state_entities`` at most this often (s).
STATE_REFRESH_S = 15.0


@dataclass(frozen=True, slots=True)
class BenchPlan:
    """Sizes of one run. ``events`` is the main load every throughput stage reads;
    ``entity_events`` each bring 4 new tracked entities (account, customer twice, policy)."""

    mode: str
    events: int
    entity_events: int
    latency_s: float
    latency_rate: float = 1000.0
    #: A rate the worker keeps up with, for the pipeline's own latency.
    low_rate: float = 20.0
    low_rate_s: float = 25.0
    partitions: int = 4
    seed: int = 0
    #: Run the entity, start-up and restart stages alongside the others (``--quick``:
    #: faster, and the figures of both suffer from sharing the CPUs).
    concurrent: bool = False

    @property
    def latency_events(self) -> int:
        return int(self.latency_s * self.latency_rate + self.low_rate_s * self.low_rate)


QUICK = BenchPlan(mode="quick", events=400, entity_events=200, latency_s=0.25, low_rate_s=2.5, concurrent=True)
#: 200,000 entities: the memory a worker holds in flight while it drains the entity load (its
#: backlog of re-keyed events) is a small share of the growth per entity, as the issue's 1M
#: would make it. Larger backlogs stalled the worker until its producer lingered (README, "Performance").
FULL = BenchPlan(mode="full", events=20_000, entity_events=50_000, latency_s=1.0)


def _rate(events: int, seconds: float) -> float:
    return events / seconds if seconds > 0 else float("inf")


class Bench:
    """One run: the broker, the loads, the processes, and the figures as they come."""

    def __init__(self, settings: Settings, plan: BenchPlan, workdir: Path) -> None:
        self.settings = settings
        self.plan = plan
        self.workdir = workdir
        self.run_id = uuid.uuid4().hex[:6]
        self.broker = EmbeddedBroker(log_file=workdir / "broker.log")
        self.processes: dict[str, BenchWorker | FrameworkCeiling] = {}
        self.engine = RiskEngine(settings.detectors, policy=settings.alert_policy)
        self.result: dict[str, Any] = {"stages": {}}

    # --- plumbing ------------------------------------------------------------------
    @property
    def bootstrap(self) -> list[str]:
        return [self.broker.bootstrap]

    def inputs(self, name: str) -> dict[str, str]:
        return {s: f"bench-{self.run_id}-{name}.{s}.events" for s in ("policy", "payment", "complaint")}

    def env(self, name: str, inputs: dict[str, str], app: str | None = None) -> dict[str, str]:
        """``RISKWATCH_*`` for one process reading ``inputs``: its own internal topics (created
        here), app id, metrics port and data directory. ``app`` shares an app id (a group)."""
        app = app or name
        prefix = f"bench-{self.run_id}-{app}"
        env = {
            "RISKWATCH_BROKER_URL": self.broker.url,
            "RISKWATCH_BROKER_PROFILE": "embedded",
            "RISKWATCH_APP_ID": prefix,
            "RISKWATCH_PARTITIONS": str(self.plan.partitions),
            "RISKWATCH_METRICS_ADDR": f"127.0.0.1:{free_port()}",
            "RISKWATCH_DATA_DIR": str(self.workdir / f"data-{name}"),
            "RISKWATCH_THRESHOLDS": str(self.settings.thresholds_file or ""),
            "RISKWATCH_MAX_FUTURE_SKEW_S": str(self.settings.max_future_skew_s),
            "RISKWATCH_ALERTMANAGER_URL": "",
            **{f"RISKWATCH_TOPIC_{s.upper()}": topic for s, topic in inputs.items()},
        }
        for part in ("alerts", "keyed", "alert_state", "actions", "findings"):
            env[f"RISKWATCH_TOPIC_{part.upper()}"] = f"{prefix}.{part}"
        ensure_topics(load_settings(env))
        return env

    def worker(self, name: str, env: dict[str, str]) -> BenchWorker:
        worker = BenchWorker(name, env, self.workdir / f"{name}.log")
        self.processes[name] = worker
        return worker.start()

    def timeout(self, events: int) -> float:
        """Generous: a stage that takes this long has failed, not run slowly."""
        return 120.0 + events / 10.0

    # --- the run -------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        plan = self.plan
        started = time.monotonic()
        self.broker.start()
        pool = ThreadPoolExecutor(1, thread_name_prefix="bench-entities") if plan.concurrent else None
        try:
            main_start, latency_start = timeline(plan.events, plan.latency_events, time.time())
            log.info("generating %d events (seed %d)", plan.events, plan.seed)
            main = main_load(plan.events, plan.seed, main_start)
            keyed = main.keyed_messages(self.engine)
            inputs = self.inputs("main")
            self.env("topics", inputs)  # creates the input topics
            send(self.bootstrap, inputs, main)
            aside = pool.submit(self.stage_entities_and_restart, main_start, main) if pool else None
            self.stage_raw(main, inputs)
            self.stage_framework(main, inputs)
            worker = self.stage_worker(main, keyed, inputs)
            self.stage_scale(main, keyed)
            self.stage_latency(worker, latency_start, inputs)
            worker.terminate()
            if aside is not None:
                aside.result()
            else:
                self.stage_entities_and_restart(main_start, main)
        finally:
            stop_all(self.processes.values())  # also ends a stage still running aside: its worker is gone
            if pool is not None:
                pool.shutdown(wait=True)
            self.broker.stop()
        self.result["run"] = {
            "mode": plan.mode, "events": plan.events, "entity_events": plan.entity_events, "seed": plan.seed,
            "partitions": plan.partitions, "cpus": os.cpu_count(), "python": platform.python_version(),
            "machine": platform.machine(), "seconds": round(time.monotonic() - started, 1),
        }
        self.result["goals"] = goals(self.result)
        return self.result

    def stage_raw(self, main: Load, inputs: dict[str, str]) -> None:
        log.info("raw_consume: bare aiokafka loop over %d events", len(main))
        first, last = raw_consume(self.bootstrap, list(inputs.values()), len(main), self.timeout(len(main)))
        self.result["stages"]["raw_consume"] = {"events_per_s": _rate(len(main), last - first),
                                               "events": len(main), "seconds": last - first}

    def stage_framework(self, main: Load, inputs: dict[str, str]) -> None:
        log.info("framework_ceiling: faust app with the worker's settings, decode only")
        app = FrameworkCeiling(self.env("framework", inputs), len(main), self.workdir / "framework.json",
                               self.workdir / "framework.log")
        self.processes["framework"] = app
        launched = time.time()
        app.start()
        report = app.wait_report(self.timeout(len(main)))
        app.terminate()  # its shutdown overlaps the next start; the end of the run reaps it
        seconds = report["last"] - report["first"]
        self.result["stages"]["framework_ceiling"] = {
            "events_per_s": _rate(len(main), seconds), "events": len(main), "seconds": seconds,
            "start_to_first_event_s": report["first"] - launched}

    def stage_worker(self, main: Load, keyed: int, inputs: dict[str, str]) -> BenchWorker:
        log.info("worker: every detector over %d events (%d re-keyed messages)", len(main), keyed)
        worker = self.worker("worker", self.env("worker", inputs))
        first = worker.wait(lambda f: f.consumed + f.rejected > 0, self.timeout(0), "first event")
        last = worker.wait(lambda f: f.consumed + f.rejected >= len(main) and f.keyed >= keyed,
                           self.timeout(len(main)), f"{len(main)} events and {keyed} keyed messages")
        seconds = last.at - first.at
        rate = _rate(len(main), seconds)
        stages = self.result["stages"]
        stages["worker"] = {
            "events_per_s": rate,
            "over_framework": rate / stages["framework_ceiling"]["events_per_s"],
            "over_raw": rate / stages["raw_consume"]["events_per_s"],
            "events": len(main), "keyed_messages": keyed, "rejected": last.rejected, "alerts": last.alerts,
            "seconds": seconds, "start_to_first_event_s": first.at - worker.started_at}
        return worker

    def stage_scale(self, main: Load, keyed: int) -> None:
        """Two workers in one group on fresh (``partitions``-partition) topics. The events
        are produced only once both hold their partitions, so that the timed work is all
        done by the pair (on a small load, pre-produced events could be finished by the
        first worker before the second one joined, leaving nothing to time)."""
        log.info("scale: two workers in one group over the same events")
        inputs = self.inputs("scale")
        env = self.env("scale-1", inputs, app="scale")
        pair = [self.worker("scale-1", env),
                self.worker("scale-2", {**env, "RISKWATCH_METRICS_ADDR": f"127.0.0.1:{free_port()}",
                                        "RISKWATCH_DATA_DIR": str(self.workdir / "data-scale-2")})]
        total = len(main) + keyed
        deadline = time.monotonic() + self.timeout(len(main))
        while not all(f is not None and f.ready for f in (w.figures() for w in pair)):
            if time.monotonic() > deadline:
                raise BenchError(f"scale: the two workers did not both get ready in time; logs in {self.workdir}")
            time.sleep(0.1)
        sent_at = time.monotonic()  # the clock of WorkerFigures.at
        send(self.bootstrap, inputs, main)
        while time.monotonic() < deadline:
            figures = [w.figures() for w in pair]
            if all(f is not None for f in figures):
                done = sum(min(f.consumed + f.rejected, len(main)) + f.keyed for f in figures)
                if done >= total:
                    break
            time.sleep(0.1)
        else:
            raise BenchError(f"scale: two workers did not process {len(main)} events in time; logs in {self.workdir}")
        stop_all(pair)
        two = _rate(len(main), max(f.at for f in figures) - sent_at)
        one = self.result["stages"]["worker"]["events_per_s"]
        self.result["scale_2_over_1"] = two / one
        self.result["scale"] = {"events_per_s_two_workers": two, "events_per_s_one_worker": one,
                                "partitions": self.plan.partitions}

    def stage_latency(self, worker: BenchWorker, start: float, inputs: dict[str, str]) -> None:
        """First at a rate the worker sustains (``latency_ms_low_rate``), then at the
        issue's 1,000 events/s (``latency_ms``), which may outrun it: its events queue."""
        plan = self.plan
        self.result["latency_ms_low_rate"] = self._latency(worker, inputs, start, plan.seed + 1,
                                                           plan.low_rate, plan.low_rate_s)
        self.result["latency_ms"] = self._latency(worker, inputs, start, plan.seed + 2,
                                                  plan.latency_rate, plan.latency_s)

    def _latency(self, worker: BenchWorker, inputs: dict[str, str], start: float, seed: int, rate: float,
                 seconds: float) -> dict[str, Any]:
        load = latency_load(int(rate * seconds), seed, start, self.settings.detectors.banned_phrases.phrases_file)
        self._check_alerting(load)
        log.info("latency: %d events at %.0f/s, %d of them alerting at once", len(load), rate, len(load.alerting))
        sent: dict[str, float] = {}
        received: dict[str, float] = {}
        tail = AlertTail(self.bootstrap, worker.env["RISKWATCH_TOPIC_ALERTS"], set(load.alerting.values()),
                         lambda event_id, at: received.__setitem__(event_id, at)).start()
        try:
            def on_sent(index: int, at: float) -> None:
                event_id = load.alerting.get(index)
                if event_id is not None:
                    sent[event_id] = at

            took = send_at_rate(self.bootstrap, inputs, load, rate, on_sent)
            # Offered faster than the worker goes, the load queues: wait for it to drain.
            drain_s = len(load) / self.result["stages"]["worker"]["events_per_s"]
            deadline = time.monotonic() + 30.0 + 2 * drain_s
            while len(received) < len(sent) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            tail.stop()
        if tail.error is not None:
            raise BenchError(f"latency: reading the alert topic failed: {tail.error}")
        latencies = sorted((received[i] - sent[i]) * 1000.0 for i in received if i in sent)
        figures = worker.figures()
        stalled = len(latencies) < len(sent) and figures is not None and not figures.ready
        if stalled:
            log.warning("latency: the worker lost its partitions and stopped (see README, Performance); "
                        "%d of %d alerts timed", len(latencies), len(sent))
        if not latencies:
            raise BenchError(f"latency: none of {len(sent)} alerts arrived; log {worker.log_path}")
        cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
        return {"offered_events_per_s": rate, "p50": cuts[49], "p99": cuts[98], "max": latencies[-1],
                "alerts_timed": len(latencies), "alerts_missing": len(sent) - len(latencies),
                "worker_stalled": stalled, "events": len(load), "achieved_events_per_s": len(load) / took}

    def _check_alerting(self, load: Load) -> None:
        index = next(iter(load.alerting))
        stream, _key, value = load.messages[index]
        event = Load([(stream, b"", value)]).decoded()[0]
        if not self.engine.detect_stateless(event):
            raise BenchError("latency: the banned-phrase sale raised no finding; check the phrase list")

    def stage_entities_and_restart(self, start: float, main: Load) -> None:
        """One worker on empty state: start-up time; memory growth over the entity load;
        replay while its entity count refreshes; then SIGKILL and restart."""
        plan = self.plan
        inputs = self.inputs("entities")
        env = self.env("entities", inputs)
        probe_state = DictStateStore()
        first_probe = probe("start", start)
        self.engine.detect(first_probe.decoded()[0], probe_state)
        probe_entities = len(list(probe_state.keys()))
        worker = self.worker("entities", env)

        log.info("startup_s: worker on empty state, probe sent once it reports ready")
        startup_ready_s, startup_s = self._first_probe(worker, inputs, first_probe)
        rss_before = worker.rss_bytes()

        load = entity_load(plan.entity_events, start)
        keyed = load.keyed_messages(self.engine)
        log.info("bytes_per_entity: %d events, each on a new policy, customer and account", len(load))
        send_started = time.monotonic()
        send(self.bootstrap, inputs, load)
        done = worker.wait(lambda f: f.consumed + f.rejected >= len(load) + 1 and f.keyed >= keyed,
                           self.timeout(len(load)), f"{len(load)} entity events")
        rss_after = worker.rss_bytes()

        self.stage_replay(main)  # meanwhile the worker's entity count comes round
        wait = done.at + STATE_REFRESH_S + 0.5 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        figures = worker.wait(lambda f: f.at > done.at + STATE_REFRESH_S, 30.0, "a fresh entity count")
        entities = figures.state_entities - probe_entities
        if entities <= 0:
            raise BenchError(f"bytes_per_entity: the worker reports {figures.state_entities} entities")
        self.result["entities"] = entities
        self.result["bytes_per_entity"] = (rss_after - rss_before) / entities
        self.result["entity_load"] = {"events": len(load), "keyed_messages": keyed,
                                      "events_per_s": _rate(len(load), done.at - send_started),
                                      "rss_before_bytes": rss_before, "rss_after_bytes": rss_after}

        log.info("restart_s: SIGKILL the worker holding %d entities, start it again", entities)
        worker.kill()
        worker.start()
        restart_ready_s, restart_s = self._first_probe(worker, inputs, probe("restart", start))
        self.result.update(startup_s=startup_s, startup_ready_s=startup_ready_s, restart_s=restart_s,
                           restart_ready_s=restart_ready_s)
        worker.terminate()

    def _first_probe(self, worker: BenchWorker, inputs: dict[str, str], load: Load) -> tuple[float, float]:
        """(seconds to ready, seconds to the first processed event) from the process start,
        the probe being sent once the worker reports ready."""
        # Recovery reads the whole state changelog: allow about 2,000 entities a second.
        ready = worker.wait(lambda f: f.ready, 120.0 + self.plan.entity_events * 4 / 2000, "ready")
        send(self.bootstrap, inputs, load)
        first = worker.wait(lambda f: f.consumed + f.rejected >= 1, 60.0, "the probe processed")
        return ready.at - worker.started_at, first.at - worker.started_at

    def stage_replay(self, main: Load) -> None:
        log.info("replay: the same %d events from a file, no broker", len(main))
        events_path = self.workdir / "events.jsonl"
        with open(events_path, "wb") as out:
            for _stream, _key, value in main.messages:
                out.write(value + b"\n")
        started = time.perf_counter()
        result = replay(events_path, self.workdir / "replay-alerts.jsonl", None, self.settings.detectors,
                        self.settings.max_future_skew_s, policy=self.settings.alert_policy)
        seconds = time.perf_counter() - started
        self.result["stages"]["replay"] = {"events_per_s": _rate(result.events, seconds), "events": result.events,
                                           "rejected": result.rejected, "alerts": result.alerts, "seconds": seconds}


def run_bench(settings: Settings, plan: BenchPlan, keep: bool = False) -> dict[str, Any]:
    """Run every stage of ``plan``; the result is what ``--json`` prints. The working
    directory (logs, data) is removed afterwards unless ``keep`` or a stage failed."""
    workdir = Path(tempfile.mkdtemp(prefix="riskwatch-bench-"))
    # SIGTERM unwinds like Ctrl-C, so that every process started is stopped.
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        result = Bench(settings, plan, workdir).run()
    except BaseException:
        log.error("bench failed; logs kept in %s", workdir)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    if keep:
        log.info("logs kept in %s", workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def plan_for(quick: bool, events: int | None = None, entity_events: int | None = None, seed: int = 0) -> BenchPlan:
    plan = QUICK if quick else FULL
    return replace(plan, seed=seed, **({"events": events} if events else {}),
                   **({"entity_events": entity_events} if entity_events else {}))
