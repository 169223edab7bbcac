"""Burst (issue 9, test 5): events produced as fast as the producer goes, far faster than
the workers apply them. Each worker's peak resident memory stays under a bound, they
catch up with every event, and a scenario sent after the burst still alerts.

The burst is generated business in chunks of :data:`CHUNK` events, each a day of
its own population (a new seed), so that it brings new entities as real traffic
does; the chunks are generated while they are produced, so the test process holds
one chunk at a time. It runs on a broker of its own: the embedded broker keeps every
record in memory, given back when the test ends. ``RISKWATCH_BURST_EVENTS`` sets
the size, ``RISKWATCH_BURST_WORKERS`` the workers of the group. CI runs 400,000 into
two workers (about 4 minutes on 2 CPUs): the issue's one million takes 12 minutes here
with two workers and 17 with one (23 on CI's machine, which put the whole test command
at 42 of CI's 90 minutes); it is run by hand (README, "Reliability").
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator

import pytest

from services import wait_until
from streams.broker import EmbeddedBroker
from streams.generator import GeneratorConfig, generate
from streams.generator.model import GeneratedEvent
from streams.metrics import scrape_progress, scrape_samples
from streams.processes import stop_process
from streams.publish import produce
from tests.integration.conftest import RunningSystem

pytestmark = pytest.mark.integration

DAY = 86_400.0
CHUNK = 20_000
BURST_EVENTS = int(os.environ.get("RISKWATCH_BURST_EVENTS", "400000"))
#: Workers in the group, each a process of its own: a worker is one Python thread's work, so
#: a second one uses the second CPU (1.85 times one worker's rate here, 400,000 events).
WORKERS = int(os.environ.get("RISKWATCH_BURST_WORKERS", "2"))
#: Each worker's peak resident memory may not pass this (MiB). A worker holds its entities'
#: state in memory, so it grows with the new entities of the burst: one worker measured 547-588
#: MiB at 200,000 events and 2,337 at 1,000,000 (some 2.2 MiB a thousand events), two 571 and
#: 558 at 400,000 (README, "Reliability"). The bound allows half as much again, or more.
PEAK_RSS_BOUND_MIB = float(os.environ.get("RISKWATCH_BURST_RSS_BOUND_MIB",
                                          512 + 3 * BURST_EVENTS / 1000 / WORKERS))
#: Events a second the burst must be drained at, at least (measured: README); the test
#: fails past that deadline rather than hold CI.
SLOWEST_DRAIN_PER_S = 400


def burst(total: int, start: float) -> Iterator[GeneratedEvent]:
    for chunk in range(math.ceil(total / CHUNK)):
        size = min(CHUNK, total - chunk * CHUNK)
        events, _ = generate(GeneratorConfig(seed=9000 + chunk, events=size, scenario_mix={}, benign=False,
                                             days=1, start=start + chunk * DAY))
        yield from events


def total_lag(metrics_url: str) -> float:
    """Messages left to read on every topic the worker holds (``riskwatch_consumer_lag``)."""
    return sum(s.value for s in scrape_samples(metrics_url, "riskwatch_consumer_lag", timeout_s=5))


@pytest.fixture
def own_broker(tmp_path) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(log_file=tmp_path / "burst-broker.log") as running:
        yield running


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size (``VmHWM``: the kernel keeps the high-water mark)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/PID/status")


def test_a_burst_is_drained_with_bounded_memory_and_detection_goes_on(start_system, own_broker):
    first = start_system(RISKWATCH_BROKER_URL=own_broker.url)
    workers = [first, *(first.start_peer(n) for n in range(WORKERS - 1))]
    try:
        run_burst(workers, own_broker)
    finally:
        for peer in workers[1:]:
            stop_process(peer.process)


def run_burst(workers: list[RunningSystem], own_broker: EmbeddedBroker) -> None:
    system = workers[0]
    chunks = math.ceil(BURST_EVENTS / CHUNK)
    start = time.time() - (chunks + 3) * DAY
    tail, truth = generate(GeneratorConfig(seed=77, events=600, scenario_mix={"structuring": 1}, benign=False,
                                           days=1, start=start + chunks * DAY))
    scenario = next(t for t in truth if t.typology == "structuring" and not t.benign)
    for worker in workers:
        worker.wait_ready()
    # Each worker holds a share of the input partitions before the burst starts.
    wait_until(lambda: all(w.assigned_inputs() for w in workers), 90, "every worker to hold input partitions")
    produce_started = time.monotonic()
    assert produce(system.settings, burst(BURST_EVENTS, start)) == BURST_EVENTS
    produce_s = time.monotonic() - produce_started
    assert produce(system.settings, tail) == len(tail)
    total = BURST_EVENTS + len(tail)

    def handled() -> float:
        return sum(counts.consumed + counts.rejected for counts in (w.progress() for w in workers))

    deadline = produce_started + 60 + total / SLOWEST_DRAIN_PER_S
    at_produced = handled()
    wait_until(lambda: handled() >= total, deadline - time.monotonic(), f"the input stage to handle {total} events",
               interval_s=5.0)  # each look is a scrape of the busy worker
    input_s = time.monotonic() - produce_started
    # The keyed stage drains the re-keyed backlog after the input stage: caught up when no
    # topic has anything left to read and the keyed count stands still.
    last = [-1.0]

    def caught_up() -> bool:
        keyed = sum(scrape_progress(w.metrics_url).keyed for w in workers)
        done = keyed == last[0] and sum(total_lag(w.metrics_url) for w in workers) == 0
        last[0] = keyed
        return done

    wait_until(caught_up, max(10.0, deadline - time.monotonic()), "the keyed stage to catch up",
               interval_s=2.0)
    drain_s = time.monotonic() - produce_started
    per_worker = [scrape_progress(w.metrics_url) for w in workers]
    consumed, keyed_applied = sum(c.consumed for c in per_worker), sum(c.keyed for c in per_worker)
    assert consumed == total and sum(c.rejected for c in per_worker) == 0, per_worker

    def structuring_alert():
        return [a for a in system.alerts(idle_s=2) if a["typology"] == "structuring"
                and a["entity_id"] == scenario.entity_id]

    assert wait_until(structuring_alert, 120, f"the structuring alert on {scenario.entity_id} after the burst")
    peaks = [peak_rss_mib(w.process.pid) for w in workers]
    peak = max(peaks)
    broker_peak = peak_rss_mib(own_broker.process.pid)
    print(f"burst: {BURST_EVENTS} events produced in {produce_s:.1f} s ({BURST_EVENTS / produce_s:,.0f}/s), "
          f"{at_produced:.0f} handled by then; all {total} through the input stage after {input_s:.1f} s, "
          f"{keyed_applied:.0f} keyed events applied after {drain_s:.1f} s ({total / drain_s:,.0f} events/s); "
          f"{len(workers)} worker(s), peak RSS {', '.join(f'{p:.0f}' for p in peaks)} MiB (bound {PEAK_RSS_BOUND_MIB:.0f}); "
          f"embedded broker peak RSS {broker_peak:,.0f} MiB")
    assert peak <= PEAK_RSS_BOUND_MIB, f"peak resident memory {peak:.0f} MiB over {PEAK_RSS_BOUND_MIB:.0f} MiB"
