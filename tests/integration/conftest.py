"""Fixtures that start real parts on loopback: the embedded broker and riskwatch workers."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streams.broker import EmbeddedBroker, free_port
from streams.metrics import ProgressCounts, scrape_progress, scrape_samples
from streams.processes import start_riskwatch, stop_process
from streams.settings import Settings, load_settings
from streams.topics import ensure_topics


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    with EmbeddedBroker(log_file=log) as running:
        yield running


def read_topic(settings: Settings, topic: str, *, idle_s: float = 2.0, timeout_s: float = 60.0,
               until: Callable[[list], bool] = lambda records: False) -> list:
    """Every record of ``topic`` from the beginning, until ``until`` holds or none arrived for ``idle_s``.

    Reads to idleness rather than to ``end_offsets``, which the embedded broker
    reports short (see shared notes on the embedded broker).
    """
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                             group_id=None, fetch_max_wait_ms=100)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records: list = []
        deadline = time.monotonic() + timeout_s
        last = time.monotonic()
        while time.monotonic() < deadline and not until(records):
            batch = consumer.poll(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
            if batch:
                last = time.monotonic()
            elif time.monotonic() - last > idle_s:
                break
        return records
    finally:
        consumer.close()


@dataclass
class RunningSystem:
    settings: Settings
    env: dict[str, str]
    metrics_url: str
    log_path: Path
    process: object

    def wait_processed(self, consumed: int, rejected: int, keyed: int, timeout_s: float = 120.0) -> ProgressCounts:
        """Wait until the worker has consumed, rejected and re-keyed exactly these many events."""
        deadline = time.monotonic() + timeout_s
        counts = ProgressCounts()
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"worker exited; log:\n{self.log_tail()}"
            try:
                counts = scrape_progress(self.metrics_url)
            except OSError:
                time.sleep(0.5)
                continue
            if (counts.consumed, counts.rejected, counts.keyed) == (consumed, rejected, keyed):
                return counts
            time.sleep(0.3)
        raise AssertionError(f"worker did not finish: {counts}, wanted consumed={consumed} rejected={rejected} "
                             f"keyed={keyed}; log:\n{self.log_tail()}")

    def progress(self) -> ProgressCounts:
        """The worker's counters now (all zero while its /metrics does not answer: busy for a
        moment, or not up yet); fails if the worker has exited."""
        assert self.process.poll() is None, f"worker exited; log:\n{self.log_tail()}"
        try:
            return scrape_progress(self.metrics_url)
        except OSError:
            return ProgressCounts()

    def read(self, topic: str, expected: int | None = None, idle_s: float = 2.0) -> list:
        """Records of ``topic``: all of them, or as soon as ``expected`` have arrived."""
        return read_topic(self.settings, topic, idle_s=idle_s,
                          until=lambda r: expected is not None and len(r) >= expected)

    def send(self, topic: str, items: list[tuple[bytes, bytes]]) -> None:
        """Produce ``(key, value)`` messages to ``topic`` and wait until the broker has them."""
        producer = KafkaProducer(bootstrap_servers=self.settings.bootstrap_servers)
        for key, value in items:
            producer.send(topic, key=key, value=value)
        producer.flush()
        producer.close()

    def alerts(self, expected: int | None = None, idle_s: float = 2.0) -> list[dict]:
        return [orjson.loads(r.value) for r in self.read(self.settings.topics.alerts, expected, idle_s)]

    def wait_ready(self, timeout_s: float = 90.0) -> None:
        """Wait until the worker reports it has its partitions and has recovered its tables."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"worker exited; log:\n{self.log_tail()}"
            try:
                ready = scrape_samples(self.metrics_url, "riskwatch_worker_ready")
            except OSError:
                time.sleep(0.3)
                continue
            if any(s.value == 1 for s in ready):
                return
            time.sleep(0.3)
        raise AssertionError(f"worker not ready after {timeout_s:.0f} s; log:\n{self.log_tail()}")

    def crash_and_restart(self, between: Callable[[], None] = lambda: None) -> None:
        """SIGKILL the worker, call ``between`` (the worker is dead), then start a new
        one on the same topics, group and data directory."""
        import os
        import signal

        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        between()
        self.process = start_riskwatch(["worker", "--loglevel", "info"], self.env, self.log_path)

    def start_peer(self, n: int = 0) -> "RunningSystem":
        """Another worker in this one's group, on the same topics, with its own metrics
        port, data directory and log (``peer<n>``); the caller stops it."""
        port = free_port()
        env = {**self.env, "RISKWATCH_METRICS_ADDR": f"127.0.0.1:{port}",
               "RISKWATCH_DATA_DIR": f"{self.env['RISKWATCH_DATA_DIR']}-peer{n}"}
        log = self.log_path.with_name(f"peer{n}.log")
        process = start_riskwatch(["worker", "--loglevel", "info"], env, log)
        return RunningSystem(self.settings, env, f"http://127.0.0.1:{port}/metrics", log, process)

    def assigned_inputs(self) -> int:
        """Input partitions this worker reports consumer lag for (those it holds); 0 while
        its /metrics does not answer."""
        try:
            lag = scrape_samples(self.metrics_url, "riskwatch_consumer_lag")
        except OSError:
            return 0
        return sum(1 for s in lag if ".events." in s.labels.get("topic", ""))

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def start_system(broker: EmbeddedBroker, tmp_path: Path) -> Iterator[Callable[..., RunningSystem]]:
    """Starts workers, each on its own fresh topics and consumer group (extra
    ``RISKWATCH_*`` variables as keyword arguments; ``before_start`` is called with the
    settings once the topics exist, before the worker starts); all are stopped after the test."""
    started: list[RunningSystem] = []

    def start(before_start: Callable[[Settings], None] = lambda settings: None, **extra_env: str) -> RunningSystem:
        suffix = uuid.uuid4().hex[:8]
        port = free_port()
        env = {
            "RISKWATCH_BROKER_URL": broker.url,
            "RISKWATCH_APP_ID": f"riskwatch-test-{suffix}",
            "RISKWATCH_TOPIC_POLICY": f"policy.events.{suffix}",
            "RISKWATCH_TOPIC_PAYMENT": f"payment.events.{suffix}",
            "RISKWATCH_TOPIC_COMPLAINT": f"complaint.events.{suffix}",
            "RISKWATCH_TOPIC_ALERTS": f"risk.alerts.{suffix}",
            "RISKWATCH_TOPIC_KEYED": f"riskwatch.keyed-events.{suffix}",
            "RISKWATCH_TOPIC_ALERT_STATE": f"risk.alerts.state.{suffix}",
            "RISKWATCH_TOPIC_ACTIONS": f"risk.alert-actions.{suffix}",
            "RISKWATCH_TOPIC_FINDINGS": f"riskwatch.findings.{suffix}",
            "RISKWATCH_TOPIC_PARTNER_REGISTRY": f"partner.registry.{suffix}",
            "RISKWATCH_TOPIC_SCORECARDS": f"risk.scorecards.{suffix}",
            "RISKWATCH_METRICS_ADDR": f"127.0.0.1:{port}",
            "RISKWATCH_DATA_DIR": str(tmp_path / f"data-{suffix}"),
            "RISKWATCH_PARTITIONS": "4",
            **extra_env,
        }
        settings = load_settings(env)
        ensure_topics(settings)
        before_start(settings)
        log_path = tmp_path / f"worker-{suffix}.log"
        process = start_riskwatch(["worker", "--loglevel", "info"], env, log_path)
        running = RunningSystem(settings, env, f"http://127.0.0.1:{port}/metrics", log_path, process)
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in started:
            stop_process(running.process)


@pytest.fixture
def system(start_system: Callable[..., RunningSystem]) -> RunningSystem:
    """A worker on its own fresh topics and consumer group, stopped after the test."""
    return start_system()
