"""Burst (issue 9, test 5): events produced as fast as the producer goes, far faster than
the worker applies them. The worker's peak resident memory stays under a bound, it
catches up with every event, and a scenario sent after the burst still alerts.

The burst is generated business in chunks of :data:`CHUNK` events, each a day of
its own population (a new seed), so that it brings new entities as real traffic
does; the chunks are generated while they are produced, so the test process holds
one chunk at a time. It runs on a broker of its own: the embedded broker keeps every
record in memory, given back when the test ends. ``RISKWATCH_BURST_EVENTS`` sets
the size. CI runs 400,000 (about 6 minutes on 2 CPUs): the issue's one million
takes some 17 minutes here and 23 on CI's machine, which put the whole test command
at 42 of CI's 90 minutes; it is run by hand (README, "Reliability").
"""
from __future__ import annotations

import math
import os
import time
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from services import wait_until
from streams.broker import EmbeddedBroker
from streams.generator import GeneratorConfig, generate
from streams.generator.model import GeneratedEvent
from streams.metrics import scrape_progress
from streams.publish import produce

pytestmark = pytest.mark.integration

DAY = 86_400.0
CHUNK = 20_000
BURST_EVENTS = int(os.environ.get("RISKWATCH_BURST_EVENTS", "400000"))
#: The worker's peak resident memory may not pass this (MiB). The worker holds every entity's
#: state in memory, so it grows with the new entities of the burst: measured 547-588 MiB at
#: 200,000 events and 2,337 at 1,000,000 (README, "Reliability"), some 2.2 MiB a thousand events;
#: the bound allows half as much again, or more.
PEAK_RSS_BOUND_MIB = float(os.environ.get("RISKWATCH_BURST_RSS_BOUND_MIB", 512 + 3 * BURST_EVENTS / 1000))
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
    text = urllib.request.urlopen(metrics_url, timeout=5).read().decode()
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "riskwatch_consumer_lag")


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
    system = start_system(RISKWATCH_BROKER_URL=own_broker.url)
    chunks = math.ceil(BURST_EVENTS / CHUNK)
    start = time.time() - (chunks + 3) * DAY
    tail, truth = generate(GeneratorConfig(seed=77, events=600, scenario_mix={"structuring": 1}, benign=False,
                                           days=1, start=start + chunks * DAY))
    scenario = next(t for t in truth if t.typology == "structuring" and not t.benign)
    system.wait_ready()
    produce_started = time.monotonic()
    assert produce(system.settings, burst(BURST_EVENTS, start)) == BURST_EVENTS
    produce_s = time.monotonic() - produce_started
    assert produce(system.settings, tail) == len(tail)
    total = BURST_EVENTS + len(tail)

    def handled() -> float:
        counts = system.progress()
        return counts.consumed + counts.rejected

    deadline = produce_started + 60 + total / SLOWEST_DRAIN_PER_S
    at_produced = handled()
    wait_until(lambda: handled() >= total, deadline - time.monotonic(), f"the input stage to handle {total} events",
               interval_s=5.0)  # each look is a scrape of the busy worker
    input_s = time.monotonic() - produce_started
    # The keyed stage drains the re-keyed backlog after the input stage: caught up when no
    # topic has anything left to read and the keyed count stands still.
    last = [-1.0]

    def caught_up() -> bool:
        keyed = scrape_progress(system.metrics_url).keyed
        done = keyed == last[0] and total_lag(system.metrics_url) == 0
        last[0] = keyed
        return done

    wait_until(caught_up, max(10.0, deadline - time.monotonic()), "the keyed stage to catch up",
               interval_s=2.0)
    drain_s = time.monotonic() - produce_started
    counts = scrape_progress(system.metrics_url)
    assert counts.consumed == total and counts.rejected == 0, counts

    def structuring_alert():
        return [a for a in system.alerts(idle_s=2) if a["typology"] == "structuring"
                and a["entity_id"] == scenario.entity_id]

    assert wait_until(structuring_alert, 120, f"the structuring alert on {scenario.entity_id} after the burst")
    peak = peak_rss_mib(system.process.pid)
    broker_peak = peak_rss_mib(own_broker.process.pid)
    print(f"burst: {BURST_EVENTS} events produced in {produce_s:.1f} s ({BURST_EVENTS / produce_s:,.0f}/s), "
          f"{at_produced:.0f} handled by then; all {total} through the input stage after {input_s:.1f} s, "
          f"{counts.keyed:.0f} keyed events applied after {drain_s:.1f} s ({total / drain_s:,.0f} events/s); worker peak RSS {peak:.0f} MiB (bound {PEAK_RSS_BOUND_MIB:.0f}); "
          f"embedded broker peak RSS {broker_peak:,.0f} MiB")
    assert peak <= PEAK_RSS_BOUND_MIB, f"peak resident memory {peak:.0f} MiB over {PEAK_RSS_BOUND_MIB:.0f} MiB"
