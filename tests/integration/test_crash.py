"""Crashes and scale-out on the embedded broker (issue 9, tests 1 and 2).

A generated run with scenarios is produced at a steady rate while a worker handles
it; the worker is SIGKILLed at a point of the production drawn from a seeded RNG, a
new one started, and the run completes. The alert ids equal those ``replay`` raises
from the same events, and no event is unaccounted for: the group's committed offsets
reach the end of every input partition, every event with a route reached the keyed
topic, and the restarted worker handled at least every event after the offsets
committed at the kill.

Sizes: 800 events (about 2,000 keyed events) with eight scenarios (27 to 32 alert
ids of 13 or 14 typologies, background included), produced in 4 s; with two group
joins (6 s session timeout each) a case takes 40 to 90 s on 2 CPUs.
"""
from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter

import orjson
import pytest
from kafka import KafkaAdminClient

from detectors.config import DetectorConfig
from services import wait_until
from streams.app import SCORECARD_ALERT, SCORECARD_REQUEST, partition_for
from streams.codec import decode_event
from streams.engine import RiskEngine, run_events
from streams.generator import GeneratorConfig, generate
from streams.keyed_batches import decode_keyed
from streams.metrics import scrape_progress
from streams.processes import stop_process
from streams.publish import produce
from tests.integration.conftest import RunningSystem, read_topic

pytestmark = pytest.mark.integration

EVENTS = 800
#: Events a second produced in the SIGKILL cases: the worker handles some 500 a second.
PRODUCE_RATE = 200
#: One scenario each of eight typologies: windows (structuring, spikes, fund flows),
#: event-time timers (callback_missing, complaint_overdue) and the stateless phrase check.
SCENARIOS = {t: 1 for t in ("structuring", "complaint_spike", "misleading_sales_phrase", "callback_missing",
                            "rapid_in_out", "churning", "third_party_payer", "complaint_overdue")}


def _run(seed: int):
    events, _truth = generate(GeneratorConfig(seed=seed, events=EVENTS, scenario_mix=SCENARIOS))
    now = time.time()
    decoded = [decode_event(orjson.dumps(g.event), None, now) for g in events]
    return events, decoded


def _replayed(decoded) -> dict:
    """``replay``'s alerts of these events, by alert id."""
    return {a.alert_id: a for a in run_events(RiskEngine(DetectorConfig()), decoded)}


class _PacedProduction:
    """Business arriving at :data:`PRODUCE_RATE`, slower than the worker goes, so that a
    worker dies in the middle of the run, with later events still to come (produced
    while it is down and while its successor joins). Produced all at once, the events
    had all been handled before the kill point was reached."""

    def __init__(self, system: RunningSystem, events) -> None:
        self.sent: list[int] = []
        self.thread = threading.Thread(
            target=lambda: self.sent.append(produce(system.settings, events, PRODUCE_RATE)), daemon=True)
        self.thread.start()
        self.expected = len(events)

    def join(self) -> None:
        self.thread.join(60)
        assert self.sent == [self.expected], f"the producer sent {self.sent} of {self.expected} events"


def _log_ends(system: RunningSystem, events) -> dict[tuple[str, int], int]:
    """Messages produced per input partition (kafka-python's default partitioner)."""
    topics = system.settings.topics.inputs
    return dict(Counter((topics[g.stream], partition_for(g.key.encode(), system.settings.partitions))
                        for g in events))


def _committed(system: RunningSystem) -> dict[tuple[str, int], int]:
    """The worker group's committed offsets on the input topics."""
    admin = KafkaAdminClient(bootstrap_servers=system.settings.bootstrap_servers)
    try:
        offsets = admin.list_group_offsets(system.settings.app_id)[system.settings.app_id]
    finally:
        admin.close()
    inputs = set(system.settings.topics.inputs.values())
    return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()
            if tp.topic in inputs and meta.offset >= 0}


def _handled(url: str) -> int:
    try:
        counts = scrape_progress(url)
    except OSError:
        return 0
    return int(counts.consumed + counts.rejected)


def _kill(process) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def _wait_committed_to_the_end(system: RunningSystem, ends: dict, alive: list) -> None:
    def done():
        for process in alive:
            assert process.poll() is None, f"worker exited; log:\n{system.log_tail()}"
        return _committed(system) == ends
    wait_until(done, 240, f"committed offsets to reach the log ends {ends}")


def _check_outcome(system: RunningSystem, events, decoded) -> tuple[set, set]:
    """Every routed event reached the keyed topic; the alert ids are replay's."""
    engine = RiskEngine(DetectorConfig())
    routed = {e.event_id for e in decoded if engine.routes(e)}
    keyed_ids = Counter()
    for record in read_topic(system.settings, system.settings.topics.keyed, idle_s=3):
        # Source marks have no items; scorecard alert records and publish requests carry no event.
        for keyspace, _entity, payload in decode_keyed(record.value).items:
            if keyspace not in (SCORECARD_ALERT, SCORECARD_REQUEST):
                keyed_ids[payload["event_id"]] += 1
    assert routed <= set(keyed_ids), f"{len(routed - set(keyed_ids))} routed events never reached the keyed topic"
    replayed = _replayed(decoded)
    expected = set(replayed)
    records = read_topic(system.settings, system.settings.topics.alerts, idle_s=8, timeout_s=180,
                         until=lambda rs: {orjson.loads(r.value)["alert_id"] for r in rs} >= expected)
    raised = {alert["alert_id"]: alert for alert in map(orjson.loads, (r.value for r in records))}
    worker = set(raised)
    missing, extra = expected - worker, worker - expected
    assert not missing and not extra, (
        [(i, replayed[i].typology, replayed[i].entity_id) for i in sorted(missing)],
        [(i, raised[i]["typology"], raised[i]["entity_id"], raised[i].get("event_time")) for i in sorted(extra)])
    return expected, worker


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_sigkill_at_a_random_point_loses_no_event_and_no_alert(system, seed):
    rng = random.Random(seed)
    events, decoded = _run(seed)
    ends = _log_ends(system, events)
    system.wait_ready()
    producing = _PacedProduction(system, events)
    # The kill point is drawn on the production's progress: the worker keeps up with it, so
    # it dies with state half built, events held for the watermark and offsets partly committed.
    expected = set(_replayed(decoded))
    kill_after_s = rng.uniform(0.15, 0.85) * EVENTS / PRODUCE_RATE
    time.sleep(kill_after_s)
    assert system.process.poll() is None, f"worker exited; log:\n{system.log_tail()}"

    committed_at_kill = {}

    def between() -> None:
        committed_at_kill.update(_committed(system))

    system.crash_and_restart(between=between)
    producing.join()
    raised_at_kill = {orjson.loads(r.value)["alert_id"] for r in read_topic(
        system.settings, system.settings.topics.alerts, idle_s=1)}
    assert raised_at_kill < expected, "the kill came after every alert had been raised"
    after_kill = EVENTS - sum(committed_at_kill.values())
    _wait_committed_to_the_end(system, ends, [system.process])
    # The restarted worker handles at least what was not committed at the kill (the dead
    # worker's handled-but-uncommitted events are read again: at-least-once). It may read
    # some twice itself: a rebalance while it works (the dead member leaving the group)
    # seeks back to the committed offsets.
    wait_until(lambda: _handled(system.metrics_url) >= after_kill, 60, "the restarted worker's counters")
    time.sleep(2)
    reread = _handled(system.metrics_url) - after_kill
    _check_outcome(system, events, decoded)
    print(f"seed {seed}: killed {kill_after_s:.1f} s into the production ({len(raised_at_kill)} of {len(expected)} alert ids "
          f"raised, {EVENTS - after_kill} of {EVENTS} input events committed); restarted worker handled {after_kill} + {reread} read twice; {len(expected)} alert ids "
          f"equal replay's")


def test_two_workers_share_the_partitions_and_the_survivor_takes_over(system):
    rng = random.Random(41)
    events, decoded = _run(41)
    ends = _log_ends(system, events)
    peer_system = system.start_peer()
    peer = peer_system.process
    urls = [system.metrics_url, peer_system.metrics_url]
    processes = [system.process, peer]
    try:
        system.wait_ready()
        peer_system.wait_ready()
        # Both hold partitions once a rebalance has given each a share.
        wait_until(lambda: system.assigned_inputs() and peer_system.assigned_inputs(), 90,
                   "both workers to hold input partitions")
        producing = _PacedProduction(system, events)
        victim = rng.randrange(2)
        kill_after = int(rng.uniform(0.2, 0.6) * EVENTS)
        wait_until(lambda: sum(_handled(u) for u in urls) >= kill_after, 180, f"{kill_after} events handled")
        shares = [_handled(u) for u in urls]
        assert all(shares), f"one worker handled nothing: {shares}"
        _kill(processes[victim])
        survivor = processes[1 - victim]
        producing.join()
        _wait_committed_to_the_end(system, ends, [survivor])
        expected, _worker = _check_outcome(system, events, decoded)
        print(f"scale-out: shares at the kill {shares}; killed worker {victim}; survivor finished; "
              f"{len(expected)} alert ids equal replay's")
    finally:
        stop_process(peer)
