"""The faust worker: a thin shell around :class:`streams.engine.RiskEngine`.

Data flow::

    policy/payment/complaint.events --decode+validate--> stateless detectors --findings--+
              |  bad message: <topic>.dlq (original bytes; headers name topic, partition, offset, reason)
              +-- re-keyed by entity (account, agent...) --> riskwatch.keyed-events           |
                      (one message per keyed partition every few ms: streams/keyed_batches.py)  |
                      --> stateful detectors (table riskwatch-state) --findings--------------+
    risk.alert-actions (ack, resolve, suppress) --validate--------------------------------+
              (scorecards: a request to every keyed partition)                           |
                                                                                          v
    riskwatch.findings (keyed by subject; also watermark ticks) --> alert book (table riskwatch-alert-book)
              --> risk.alerts (every record) + risk.alerts.state (latest per id) + Alertmanager (high, critical)

Timers (absent events, deadlines, eviction) run on event time: the input stage
sends each keyed partition its progress per source partition, the keyed stage
sweeps its entities when the minimum of those passes an hour boundary, and
tells the alert stage, which does the same over the keyed partitions
(:mod:`streams.watermarks`). That is why the worker fires the same timers as
``replay``, however unevenly the input topics are read.

    events and alert records, re-keyed by branch --> scorecards (table riskwatch-scorecards)
              --> risk.scorecards when a quarter closes (event time) or on a ``scorecards`` action

Re-keying puts all events of one entity on one partition of the keyed topic,
so its state lives in exactly one worker even when several share the load.
Values are consumed as raw bytes and decoded in our code: faust's typed topics
would stop the agent on undecodable input and have no dead-letter topic.
"""
from __future__ import annotations

import gc
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache, partial
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import faust
import orjson
from kafka.partitioner.default import murmur2
from prometheus_client import CONTENT_TYPE_LATEST

from alerts.alertmanager import AlertmanagerPusher
from alerts.book import Disposition, Outcome
from alerts.model import iso_time
from alerts.scorecards import RegistryProfiles, ScorecardCore
from detectors.base import Finding, Tier
from detectors.events import Event
from detectors.registry import PartnerRecord, PartnerRegistry
from streams.acks import InOrderAcks
from streams.actions import decode_action
from streams.alignment import SourceAlignment
from streams.batch_compression import COMPRESSION_TYPE, use_fast_gzip
from streams.codec import InvalidEvent, decode_event
from streams.engine import RiskEngine
from streams.fetch_pause import paused, set_paused
from streams.keyed_batches import KeyedBatcher, UnknownKeyedFormat, decode_keyed, encode_item
from streams.log_flood import summarise_repeated_client_errors
from streams.metrics import Metrics, WorkerCollector
from streams.offsets import patch_faust_recovery
from streams.partner_codec import decode_partner_record
from streams.resume_order import patch_resume_after_seek
from streams.settings import Settings
from streams.table_store import BatchedStateStore, TableStateStore
from streams.uncommitted_seek import patch_seek_uncommitted_to_beginning
from streams.watermarks import LowWatermark, ReorderBuffer, SourceMarks, SweepGrid, expected_sources, source_name

log = logging.getLogger(__name__)

STATE_TABLE = "riskwatch-state"
BOOK_TABLE = "riskwatch-alert-book"
#: Every worker holds the whole partner registry: a global table filled from ``partner.registry``.
REGISTRY_TABLE = "riskwatch-partner-registry"
SCORECARD_TABLE = "riskwatch-scorecards"
#: Keyspaces of the keyed topic that feed the scorecards (an event, an alert record, a request to publish).
SCORECARD_EVENT, SCORECARD_ALERT, SCORECARD_REQUEST = "scorecard", "scorecard-alert", "scorecard-request"
#: Consumer fetch wait (ms). faust fixes aiokafka's at 1,500 ms, which puts p50
#: latency near 400 ms on the embedded broker (Kafka answers as soon as records
#: come, whatever the wait). Not shorter: the embedded broker lists a partition's
#: record batches from the first at every fetch, about 1 us each, and answers
#: nothing once the wait runs out first, so a 10 ms wait stopped serving a
#: partition at 12,000 to 30,000 batches (a million-event burst's keyed topic
#: stalled for good); 100 ms serves about 100,000 (README, "The embedded broker").
FETCH_MAX_WAIT_MS = 100
#: Keyed messages faust may hold read ahead of the keyed stage (the app's
#: ``stream_buffer_maxsize``, 20,000, is sized for single events). A keyed message
#: carries a batch of items, some 15 KB each in a burst: 20,000 of them would be
#: 300 MB of a backlog held twice, in the broker and in the worker.
KEYED_BUFFER_MESSAGES = 500
#: CPython's collector runs a young collection every 700 allocations (net) by default, and
#: the worker allocates a decoded state's containers per event: collections took 34% of the
#: keyed stage's time (py-spy --native, 200,000-event burst). Raised, a 200,000-event burst
#: drained in 160 s instead of 217. The states are trees without cycles, freed by reference
#: counting; the collector is there for the cycles asyncio and faust make.
GC_THRESHOLDS = (50_000, 20, 100)
#: Seconds the keyed stage keeps the states it changed (decoded, with the acknowledgements
#: of the messages that changed them) before it writes them to their tables. Written once a
#: message, the hot aggregates (a peer group of agents, a branch's scorecard tasks, tens of
#: KB each) were 2.5 GB of a million-event burst's changelog late in the run, when the
#: messages were small; once a second bounds that by time, not by message rate (at 0.25 s
#: the branches' scorecard tasks alone were still 160 MB of a 200,000-event burst's changelog).
#: The offsets committed lag by as much; findings are sent at once, whatever this is.
STATE_FLUSH_INTERVAL_S = 1.0


def riskwatch_version() -> str:
    try:
        return version("riskwatch")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


@lru_cache(maxsize=1 << 16)
def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` (murmur2, as the Java client).

    Cached: kafka-python's murmur2 is pure Python (6% of the input stage's time in a burst,
    2.5 keys an event), and the keys of products, branches and agents come again and again."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def route_key(keyspace: str, entity: str) -> bytes:
    return f"{keyspace}:{entity}".encode()


class RegistryTableRecords:
    """The worker's partner registry: a read view of its global table of orjson
    records (:meth:`detectors.registry.PartnerRecord.to_dict`), decoded once per value."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self._decoded: dict[str, tuple[bytes, PartnerRecord]] = {}

    def get(self, partner_id: str) -> PartnerRecord | None:
        raw = self.table.get(partner_id.encode())
        if raw is None:
            return None
        cached = self._decoded.get(partner_id)
        if cached is None or cached[0] != raw:
            cached = (raw, PartnerRecord.from_dict(orjson.loads(raw)))
            self._decoded[partner_id] = cached
        return cached[1]

    def __len__(self) -> int:
        return len(self.table)


def _short_fetch_wait() -> None:
    """Make faust's worker consumer use :data:`FETCH_MAX_WAIT_MS` (idempotent)."""
    from faust.transport.drivers import aiokafka as driver

    thread = driver.AIOKafkaConsumerThread
    if getattr(thread, "_riskwatch_fetch_wait", False):
        return
    original = thread._create_worker_consumer

    def create(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer

    thread._create_worker_consumer = create
    thread._riskwatch_fetch_wait = True


def consumer_lag(app: faust.App) -> dict[tuple[str, int], int]:
    """Messages behind the high watermark for each assigned partition of this worker.

    The high watermark comes from fetch responses, which are right on the
    embedded broker (its ``end_offsets`` are not)."""
    lag: dict[tuple[str, int], int] = {}
    consumer = app.consumer
    try:
        assignment = consumer.assignment()
    except Exception:  # not started, or between generations
        return lag
    for tp in assignment:
        if tp.topic.endswith("-changelog") or "__assignor" in tp.topic:
            continue  # faust's own bookkeeping, not streams we process
        highwater = consumer.highwater(tp)
        read = consumer._read_offset.get(tp)  # faust keeps the last offset handed to a stream
        if highwater is None:
            continue
        lag[(tp.topic, tp.partition)] = max(0, highwater - (read + 1 if read is not None else 0))
    return lag


def faust_settings(settings: Settings) -> dict[str, Any]:
    """Explicit values for every faust setting we depend on."""
    conf: dict[str, Any] = dict(
        broker=settings.broker_url,
        env={},  # faust must not pick up unprefixed variables of its own
        store="memory://",
        datadir=str(settings.data_dir),
        autodiscover=False,
        processing_guarantee="at_least_once",
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        producer_acks=1,
        producer_compression_type=COMPRESSION_TYPE,  # streams/batch_compression.py
        # The embedded broker answers a fetch with one record batch per partition, so a
        # backlog of the keyed topic drains at batches, not records, per fetch: lingering
        # 10 ms fills batches (see README, "The embedded broker").
        producer_linger=0.010,
        broker_max_poll_records=5000,
        stream_buffer_maxsize=20_000,
        broker_commit_interval=1.0,
        web_enabled=True,
        web_bind=settings.metrics_host,
        web_port=settings.metrics_port,
        web_host=settings.metrics_host,
        web_tables_enabled=False,  # table browsing would expose state (personal data risk)
        table_standby_replicas=0,
        # The keyed stage holds events unacknowledged until the low watermark passes
        # them (streams/watermarks.py), so a rebalance must not wait for every event to
        # be acknowledged: it would wait for marks that cannot come while the group is
        # paused. Unacknowledged events are not committed; faust seeks every assigned
        # partition to its committed offset after a rebalance, so they are read again.
        stream_wait_empty=False,
    )
    credentials = settings.kafka_security.faust_credentials()
    if credentials is not None:
        conf["broker_credentials"] = credentials  # TLS and/or SASL (streams/kafka_security.py)
    if settings.broker_profile == "embedded":
        # Tansu completes the first group join only after the session timeout.
        # broker_max_poll_interval stays at faust's default (1,000 s): a shorter one
        # evicted the worker from its group while it drained a backlog, and it never rejoined.
        conf.update(broker_session_timeout=6.0, broker_heartbeat_interval=1.0, broker_rebalance_timeout=6.0)
    return conf


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    data = asdict(finding)
    data["tier"] = finding.tier.value
    return data


def finding_from_dict(data: dict[str, Any]) -> Finding:
    return Finding(**{**data, "tier": Tier(data["tier"])})


#: Seconds of wall time between the input stage's marks to the keyed partitions
#: (:mod:`streams.watermarks`).
TICK_INTERVAL_S = 0.5


@dataclass
class Worker:
    """The faust app, its topics and tables, and what the agents share."""

    settings: Settings
    engine: RiskEngine
    metrics: Metrics
    app: faust.App
    topics: dict[str, Any]
    dead_letter: dict[str, Any]
    #: The keyed stage's detector state, written once a second (:meth:`write_state`).
    store: BatchedStateStore
    book: TableStateStore
    pusher: AlertmanagerPusher | None = None
    complaint_topic: Any = None
    registry_table: Any = None
    #: Scorecard state, keys per branch (:mod:`alerts.scorecards`), and its core.
    scorecards: BatchedStateStore | None = None
    scorecard_core: ScorecardCore | None = None
    #: The branches with scorecard state (None: not known since the last rebalance). Kept
    #: beside the table: finding them there meant a scan of every scorecard key, one a
    #: policy, at every sweep (5% of the keyed stage late in a 1M-event burst).
    scorecard_branches: set[str] | None = None
    #: The input stage's progress per source partition (event time, offset).
    sources: SourceMarks = field(default_factory=SourceMarks)
    #: Which source partitions to pause for running ahead in event time (streams/alignment.py).
    alignment: SourceAlignment = field(default_factory=SourceAlignment)
    #: keyed partition -> low watermark over the source partitions, and its sweeps
    keyed_marks: dict[int, LowWatermark] = field(default_factory=dict)
    keyed_sweeps: dict[int, SweepGrid] = field(default_factory=dict)
    #: keyed partition -> its events waiting for the low watermark (unacknowledged)
    keyed_waiting: dict[int, ReorderBuffer] = field(default_factory=dict)
    #: keyed partition -> its messages, acknowledged to faust in offset order only
    keyed_acks: dict[int, InOrderAcks] = field(default_factory=dict)
    #: alert-stage partition -> low watermark over the keyed partitions, and its sweeps
    alert_marks: dict[int, LowWatermark] = field(default_factory=dict)
    alert_sweeps: dict[int, SweepGrid] = field(default_factory=dict)
    #: items for the keyed topic, sent one message per keyed partition (streams/keyed_batches.py)
    keyed_out: KeyedBatcher | None = None
    #: Unix seconds now: the time a mark message is sent at.
    wall_clock: Callable[[], float] = time.time
    #: The keyed stage's finished messages, acknowledged once the states they changed are written.
    held_acks: list[tuple[Callable[[Any], Awaitable[Any]], Any]] = field(default_factory=list)
    #: time.monotonic() of the last write of the keyed stage's states
    flushed_at: float = 0.0

    async def send_findings(self, findings: list[Finding]) -> None:
        for finding in findings:
            self.metrics.findings.labels(finding.typology, finding.partner_id or "none").inc()
            subject = self.engine.subject_of(finding).encode()
            await self.topics["findings"].send(
                key=subject, value=orjson.dumps({"finding": finding_to_dict(finding)}),
                partition=partition_for(subject, self.settings.partitions))

    async def publish(self, outcome: Outcome) -> None:
        scored = False
        for alert in outcome.records:
            value = alert.to_json()
            await self.topics["alerts"].send(key=alert.key, value=value)
            await self.topics["alert_state"].send(key=alert.alert_id.encode(), value=value)
            if self.pusher is not None:
                self.pusher.submit(alert)
            branch = self.scorecard_core.branch_of(alert.branch_id, alert.partner_id)
            if branch is not None:
                await self.send_scorecard_item(SCORECARD_ALERT, branch, alert.to_dict())
                scored = True
        for verdict in outcome.dispositions:
            if verdict.disposition == "confirmed" and (verdict.agent_id or verdict.branch_id):
                await self.feed_back_confirmation(verdict)
        if scored:  # with the producer before this alert-stage message is acknowledged
            await self.keyed_out.flush()
        self.metrics.alert_outcome(outcome)

    async def feed_back_confirmation(self, verdict: Disposition) -> None:
        """A confirmed alert becomes an ``alert_confirmed`` event on the complaint stream, so
        the agent integrity score (agent) and the branch accountability rule (branch, tier)
        take it through the ordinary path (validated, re-keyed, deduplicated by event id)."""
        event = {"schema_version": 1, "event_id": f"confirmed-{verdict.alert_id}", "event_type": "alert_confirmed",
                 "event_time": iso_time(verdict.at), "agent_id": verdict.agent_id, "typology": verdict.typology,
                 "branch_id": verdict.branch_id, "tier": verdict.tier, "alert_id": verdict.alert_id}
        event = {k: v for k, v in event.items() if v is not None}
        key = verdict.agent_id or verdict.branch_id
        await self.complaint_topic.send(key=key.encode(), value=orjson.dumps(event))

    async def dead_letter_message(self, topic: str, message: Any, error: InvalidEvent) -> None:
        headers = [
            ("riskwatch-source-topic", topic.encode()),
            ("riskwatch-source-partition", str(message.partition).encode()),
            ("riskwatch-source-offset", str(message.offset).encode()),
            ("riskwatch-reason", error.reason.encode()),
            ("riskwatch-error", str(error).encode()[:500]),
        ]
        await self.dead_letter[topic].send(key=message.key, value=message.value, headers=headers)
        self.metrics.events_rejected.labels(topic, error.reason).inc()

    async def handle_input(self, topic: str, stream_name: str, message: Any) -> None:
        started = time.perf_counter()
        source = (topic, message.partition)
        try:
            event = decode_event(message.value or b"", stream_name, time.time(), self.settings.max_future_skew_s)
        except InvalidEvent as error:
            await self.dead_letter_message(topic, message, error)
            self.sources.handled(source, message.offset, None)
            self.alignment.handled(source, message.offset, None)
            return
        event = self.engine.with_partner(event)
        self.metrics.events_consumed.labels(topic, event.event_type).inc()
        self.metrics.business_event(event.event_type, event.partner_id)
        await self.send_findings(self.engine.detect_stateless(event))
        payload = None
        for keyspace, entity in self.engine.routes(event):
            payload = payload or orjson.dumps(event.to_dict())
            self.keyed_out.add(partition_for(route_key(keyspace, entity), self.settings.partitions),
                               encode_item(keyspace, entity, payload))
        branch = self.scorecard_core.route(event)
        if branch is not None:
            await self.send_scorecard_item(SCORECARD_EVENT, branch, payload or orjson.dumps(event.to_dict()))
        # After the items are gathered: a mark sent from here on follows them (send_marks).
        self.sources.handled(source, message.offset, event.time)
        self.alignment.handled(source, message.offset, event.time)
        self.metrics.processing_seconds.labels("decode").observe(time.perf_counter() - started)

    async def send_scorecard_item(self, kind: str, branch: str, payload: dict[str, Any] | bytes) -> None:
        """An event or alert record to the keyed partition that holds ``branch``'s scorecards
        (gathered into that partition's next batch)."""
        key = route_key(SCORECARD_EVENT, branch)
        self.keyed_out.add(partition_for(key, self.settings.partitions), encode_item(kind, branch, payload))

    def _owned_branches(self, partition: int) -> list[str]:
        if self.scorecard_branches is None:  # after a rebalance: from the table, once
            self.scorecard_branches = set(self.scorecard_core.branches(self.scorecards))
        return sorted(b for b in self.scorecard_branches
                      if partition_for(route_key(SCORECARD_EVENT, b), self.settings.partitions) == partition)

    def _note_scorecard_branch(self, branch: str) -> None:
        """Keep :attr:`scorecard_branches` in step with ``branch``'s scorecard state (nothing to
        do while it is unknown: a rebalance, maybe during an await of the caller's)."""
        if self.scorecard_branches is None:
            return
        if self.scorecards.get(branch) is None:  # all its quarters forgotten
            self.scorecard_branches.discard(branch)
        else:
            self.scorecard_branches.add(branch)

    async def publish_scorecards(self, branch: str, periods: list[str] | None, reason: str) -> None:
        for card in self.scorecard_core.scorecards(self.scorecards, branch, periods):
            key = f"{card['scope']}:{card['id']}:{card['period']}".encode()
            await self.topics["scorecards"].send(key=key, value=orjson.dumps(card))
            self.metrics.scorecard_published(card, reason)

    async def handle_scorecard_item(self, kind: str, branch: str, payload: dict[str, Any], partition: int) -> None:
        """An alert record folded into its branch's scorecards, or a request to publish them all."""
        self.metrics.scorecard_items.labels(kind).inc()
        if kind == SCORECARD_ALERT:
            self.scorecard_core.observe_alert(payload, self.scorecards, branch)
            self._note_scorecard_branch(branch)
        else:  # a request: every quarter held for the branches of this partition
            for owned in self._owned_branches(partition):
                await self.publish_scorecards(owned, None, "request")

    async def handle_keyed(self, item: Any, ack: Callable[[Any], Awaitable[Any]]) -> None:
        """One message of the keyed topic: a batch of events, each held until the
        partition's low watermark passes it, or source marks, which release the events
        they pass in event-time order and may sweep. ``ack`` acknowledges a faust event
        once every item of its message is applied (its offset is committed only then,
        so a held event survives a crash) and the states they changed are written
        (:meth:`write_state`, at most :data:`STATE_FLUSH_INTERVAL_S` later)."""
        async def hold(done: Any) -> None:
            self.held_acks.append((ack, done))

        # Every state a message changes is of its partition's entities (routed by key).
        self.store.partition = self.scorecards.partition = item.message.partition
        await self._apply_keyed(item, hold)
        if time.monotonic() - self.flushed_at >= STATE_FLUSH_INTERVAL_S:
            await self.write_state()

    async def write_state(self) -> None:
        """Each state the keyed stage changed since the last call once to its table, then
        the acknowledgements of the messages that changed them (streams/table_store.py).
        Called by the keyed stage, by a timer when it waits, and at a rebalance."""
        self.flushed_at = time.monotonic()
        self.store.flush()
        self.scorecards.flush()
        held, self.held_acks = self.held_acks, []
        for ack, done in held:
            await ack(done)

    async def _apply_keyed(self, item: Any, ack: Callable[[Any], Awaitable[Any]]) -> None:
        message = item.message
        partition = message.partition
        acks = self.keyed_acks.setdefault(partition, InOrderAcks())
        try:
            keyed = decode_keyed(message.value)
        except UnknownKeyedFormat as error:
            # Written by a newer riskwatch: left unacknowledged (it blocks this partition's
            # commits), so that a worker that reads it takes the partition up from here.
            acks.arrived(message.offset, item)
            log.error("keyed partition %d offset %d not applied: %s", partition, message.offset, error)
            return
        waiting = self.keyed_waiting.setdefault(partition, ReorderBuffer())
        acks.arrived(message.offset, item, max(1, len(keyed.items)))
        if keyed.marks is not None or not keyed.items:
            if keyed.marks is not None:
                await self._on_source_marks(partition, keyed.marks, keyed.sent_at, waiting, ack)
            await self._ack_in_order(item, ack)
            return
        for keyspace, entity, payload in keyed.items:
            if keyspace in (SCORECARD_ALERT, SCORECARD_REQUEST):  # applied as they come: no event time to wait for
                await self.handle_scorecard_item(keyspace, entity, payload, partition)
                await self._ack_in_order(item, ack)
                continue
            event = Event.from_trusted_dict(payload)
            for ready in waiting.push(event.time, (event, keyspace, entity, item)):
                await self._detect_keyed(*ready, ack)

    async def _detect_keyed(self, event: Event, keyspace: str, entity: str, item: Any,
                            ack: Callable[[Any], Awaitable[Any]]) -> None:
        if keyspace == SCORECARD_EVENT:  # released in event-time order like the detectors' events
            self.scorecard_core.observe(event, self.scorecards, entity)
            self._note_scorecard_branch(entity)
            await self._ack_in_order(item, ack)
            self.metrics.scorecard_items.labels(keyspace).inc()
            return
        started = time.perf_counter()
        await self.send_findings(self.engine.detect_keyed(event, keyspace, entity, self.store))
        await self._ack_in_order(item, ack)
        self.metrics.keyed_events.labels(keyspace).inc()
        self.metrics.processing_seconds.labels("detect").observe(time.perf_counter() - started)

    async def _ack_in_order(self, item: Any, ack: Callable[[Any], Awaitable[Any]]) -> None:
        """Acknowledge what ``item`` (one applied part of it) finishes, in offset order
        (see :mod:`streams.acks`)."""
        acks = self.keyed_acks.get(item.message.partition)
        for ready in acks.finished(item.message.offset, item) if acks is not None else ():
            await ack(ready)

    async def _on_source_marks(self, partition: int, marks: dict[str, list], sent_at: float | None,
                               waiting: ReorderBuffer, ack: Callable[[Any], Awaitable[Any]]) -> None:
        """Release the events this partition's low watermark has passed, advance its
        entities to the next sweep boundary the watermark reaches, and pass the
        boundary on to every alert-stage partition."""
        low = self.keyed_marks.get(partition)
        if low is None:
            low = self.keyed_marks[partition] = LowWatermark(
                expected_sources(self.settings.topics.inputs.values(), self.settings.partitions))
        low.update(marks, sent_at)
        for ready in waiting.release(low.release_to):
            await self._detect_keyed(*ready, ack)
        boundary = self.keyed_sweeps.setdefault(partition, SweepGrid()).due(low.value)
        if boundary is None:
            return
        def owned(key: str) -> bool:
            routed = self.engine.keyspace_of(key)
            return routed is None or partition_for(route_key(*routed), self.settings.partitions) == partition

        due = self.engine.due_keys(boundary, self.store, owned)
        await self.send_findings(self.engine.advance_detectors(boundary, self.store, due))
        for branch in self._owned_branches(partition):
            closed = self.scorecard_core.advance(self.scorecards, branch, boundary)
            if closed:
                await self.publish_scorecards(branch, closed, "close")
            self._note_scorecard_branch(branch)
        tick = orjson.dumps({"tick": boundary, "from": str(partition)})
        for target in range(self.settings.partitions):
            await self.topics["findings"].send(key=b"tick", value=tick, partition=target)

    def tables_changed(self) -> None:
        """A rebalance: table partitions leave this worker and others are recovered from their
        changelogs, behind the engine's sweep indexes and the scorecard branches; its next
        sweeps look at every key again."""
        self.engine.due.invalidate()
        self.engine.book_due.invalidate()
        self.scorecard_branches = None
        self.store.forget_decoded()
        self.scorecards.forget_decoded()

    def forget_partitions(self, topic: str, partitions: Iterable[int]) -> None:
        """A partition left this worker. A keyed one: its held events will be read again by
        its next owner (they were never acknowledged), and its marks start afresh. An input
        one: it is no longer this worker's to pause."""
        if topic in self.settings.topics.inputs.values():
            self.alignment.forget((topic, p) for p in partitions)  # a new assignment starts unpaused
        if topic != self.settings.topics.keyed:
            return
        for partition in partitions:
            for held in (self.keyed_waiting, self.keyed_marks, self.keyed_sweeps, self.keyed_acks):
                held.pop(partition, None)

    async def handle_registry(self, message: Any) -> None:
        """Validate a partner registry record and store it in the global table (every
        worker's copy follows its changelog); a bad record goes to ``partner.registry.dlq``."""
        topic = self.settings.topics.partner_registry
        try:
            record = decode_partner_record(message.value or b"")
        except InvalidEvent as error:
            await self.dead_letter_message(topic, message, error)
            return
        self.registry_table[record.partner_id.encode()] = orjson.dumps(record.to_dict())
        self.metrics.events_consumed.labels(topic, "partner_record").inc()

    async def handle_action(self, message: Any) -> None:
        """Validate an action and hand it to the alert stage's partition for its subject."""
        try:
            action = decode_action(message.value or b"")
        except InvalidEvent as error:
            await self.dead_letter_message(self.settings.topics.actions, message, error)
            return
        if action["action"] == "scorecards":  # every partition publishes the scorecards it holds
            request = encode_item(SCORECARD_REQUEST, "", action)
            for partition in range(self.settings.partitions):
                self.keyed_out.add(partition, request)
            await self.keyed_out.flush()  # with the producer before the action is acknowledged
            return
        subject = action["subject"].encode()
        await self.topics["findings"].send(key=subject, value=orjson.dumps({"action": action}),
                                           partition=partition_for(subject, self.settings.partitions))

    async def handle_alert_stage(self, message: Any) -> None:
        """One finding, action or watermark tick, applied to the alert book of its subject."""
        item = orjson.loads(message.value)
        if "finding" in item:
            await self.publish(self.engine.alert(finding_from_dict(item["finding"]), self.book))
        elif "action" in item:
            await self.publish(self.engine.act(item["action"], self.book))
        elif "tick" in item:
            await self._advance_alerts(message.partition, item)

    async def _advance_alerts(self, partition: int, tick: dict[str, Any]) -> None:
        """The alert book's deadlines and clearing, once every keyed partition has swept
        to the next boundary (the minimum of their ticks)."""
        low = self.alert_marks.get(partition)
        if low is None:
            low = self.alert_marks[partition] = LowWatermark(
                frozenset(str(p) for p in range(self.settings.partitions)))
        low.update({tick["from"]: [tick["tick"], False]})  # a keyed partition is never idle
        boundary = self.alert_sweeps.setdefault(partition, SweepGrid()).due(low.value)
        if boundary is None:
            return
        subjects = self.engine.due_subjects(
            boundary, self.book, lambda s: partition_for(s.encode(), self.settings.partitions) == partition)
        await self.publish(self.engine.advance_alerts(boundary, self.book, subjects))

    async def send_marks(self) -> None:
        """Tell every keyed partition how far each source partition this worker reads has come."""
        consumer = self.app.consumer
        inputs = set(self.settings.topics.inputs.values())
        try:
            assigned = [tp for tp in consumer.assignment() if tp.topic in inputs]
        except Exception:  # not started, or between generations
            return
        for tp in assigned:
            position = consumer._read_offset.get(tp)  # seeded with the committed offset at assignment
            if position is not None:
                self.sources.started_at((tp.topic, tp.partition), position)
        marks = self.sources.marks({(tp.topic, tp.partition): consumer.highwater(tp) for tp in assigned})
        await self._align_sources(assigned, marks)
        if not marks:
            return
        # Sent-at times are compared across workers: their clocks must agree to well within
        # a tick (NTP does; streams/watermarks.py, LowWatermark).
        value = orjson.dumps({"marks": marks, "sent_at": self.wall_clock()})
        # The marks follow the items of every event they count: those gathered before
        # ``marks`` was taken go first, and no flush runs between them and the marks.
        async with self.keyed_out.flushed():
            for partition in range(self.settings.partitions):
                await self.topics["keyed"].send(key=b"marks", value=value, partition=partition)

    async def _align_sources(self, assigned: list[Any], marks: dict[str, list]) -> None:
        """Pause fetching from the busy source partitions that run ahead of the slowest in event
        time, resume them as it catches up (streams/alignment.py, streams/fetch_pause.py).
        Not during a rebalance: the partitions move then, and start unpaused."""
        if self.app.rebalancing or not self.app.tables.recovery.completed.is_set():
            return
        by_source = {(tp.topic, tp.partition): tp for tp in assigned}
        busy = [s for s in by_source if source_name(s) in marks and not marks[source_name(s)][1]]
        pause, resume = self.alignment.decide(busy, time.monotonic())
        await set_paused(self.app, (by_source[s] for s in pause if s in by_source),
                         (by_source[s] for s in resume if s in by_source))
        self.metrics.sources_paused.set(len(paused(self.app) & set(by_source)))


def build_worker(settings: Settings, engine: RiskEngine | None = None, metrics: Metrics | None = None) -> Worker:
    """The faust app with its agents, wired to ``settings``; nothing is started."""
    _short_fetch_wait()
    use_fast_gzip()
    patch_resume_after_seek()  # stream partitions resume after the seek to committed offsets
    patch_seek_uncommitted_to_beginning()  # ... and that seek reaches partitions with nothing committed
    if settings.broker_profile == "embedded":
        patch_faust_recovery(settings.bootstrap_servers, settings.kafka_client_config)
    engine = engine or RiskEngine(settings.detectors, policy=settings.alert_policy, timed=True,
                                  runbook_base_url=settings.runbook_base_url)
    metrics = metrics or Metrics()
    metrics.build_info.info({"version": riskwatch_version(), "config_version": engine.config_version})
    app = faust.App(settings.app_id, **faust_settings(settings))
    names = settings.topics
    raw = dict(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    # The app's default serializers are raw: the tables hold orjson bytes.
    table = app.Table(STATE_TABLE, default=None, partitions=settings.partitions, key_type=bytes, value_type=bytes)
    book = app.Table(BOOK_TABLE, default=None, partitions=settings.partitions, key_type=bytes, value_type=bytes)
    # One changelog partition, filled through the producer's partitioner from any registry partition,
    # and a recovery buffer of 1: faust's advice against a global table's endless recovery with several workers.
    registry_table = app.GlobalTable(REGISTRY_TABLE, default=None, partitions=1, recovery_buffer_size=1,
                                     use_partitioner=True, key_type=bytes, value_type=bytes)
    engine.registry = PartnerRegistry(RegistryTableRecords(registry_table))
    scorecards = app.Table(SCORECARD_TABLE, default=None, partitions=settings.partitions, key_type=bytes,
                           value_type=bytes)
    pusher = None
    if settings.alertmanager_url:
        pusher = AlertmanagerPusher(settings.alertmanager_url, on_result=metrics.alertmanager_result,
                                    on_drop=metrics.alertmanager_dropped.inc)
    worker = Worker(
        settings=settings, engine=engine, metrics=metrics, app=app,
        topics={
            "alerts": app.topic(names.alerts, **raw),
            "alert_state": app.topic(names.alert_state, **raw),
            "keyed": app.topic(names.keyed, partitions=settings.partitions, maxsize=KEYED_BUFFER_MESSAGES, **raw),
            "findings": app.topic(names.findings, partitions=settings.partitions, **raw),
            "scorecards": app.topic(names.scorecards, **raw),
        },
        dead_letter={t: app.topic(names.dead_letter(t), **raw) for t in names.consumed},
        store=BatchedStateStore(table),
        book=TableStateStore(book),
        pusher=pusher,
        complaint_topic=app.topic(names.complaint, **raw),
        registry_table=registry_table,
        scorecards=BatchedStateStore(scorecards),
        scorecard_core=ScorecardCore(settings.detectors, profiles=RegistryProfiles(engine.registry)),
    )
    keyed_topic = worker.topics["keyed"]
    worker.keyed_out = KeyedBatcher(
        lambda partition, value: keyed_topic.send(key=b"items", value=value, partition=partition))

    for stream_name, topic_name in names.inputs.items():
        _input_agent(worker, stream_name, topic_name)
    metrics.registry.register(WorkerCollector(lag=lambda: consumer_lag(app), timings=engine.timings,
                                              state_keys=worker.store.keys))

    @app.agent(worker.topics["keyed"], name="riskwatch.detect-keyed")
    async def detect_keyed(stream: Any) -> None:
        manual = stream.noack()  # held events are acknowledged when processed
        async for event in manual.events():
            await worker.handle_keyed(event, manual.ack)

    @app.on_partitions_revoked.connect
    async def on_revoked(app: Any, revoked: Any, **_: Any) -> None:
        await worker.write_state()  # the next owner of a partition recovers its state from the changelog
        worker.tables_changed()
        for tp in revoked:
            worker.forget_partitions(tp.topic, [tp.partition])

    @app.on_partitions_assigned.connect
    async def on_assigned(app: Any, assigned: Any, **_: Any) -> None:
        worker.tables_changed()

    @app.agent(app.topic(names.partner_registry, **raw), name="riskwatch.partner-registry")
    async def partner_registry(stream: Any) -> None:
        async for event in stream.events():
            await worker.handle_registry(event.message)

    @app.agent(app.topic(names.actions, **raw), name="riskwatch.actions")
    async def actions(stream: Any) -> None:
        async for event in stream.events():
            await worker.handle_action(event.message)

    @app.agent(worker.topics["findings"], name="riskwatch.alert-stage")
    async def alert_stage(stream: Any) -> None:
        async for event in stream.events():
            await worker.handle_alert_stage(event.message)

    @app.timer(interval=TICK_INTERVAL_S)
    async def tick() -> None:
        await worker.send_marks()

    @app.timer(interval=STATE_FLUSH_INTERVAL_S)
    async def write_state() -> None:  # the keyed stage's states, if it has waited since it changed them
        if worker.held_acks or len(worker.store) or len(worker.scorecards):
            if time.monotonic() - worker.flushed_at >= STATE_FLUSH_INTERVAL_S:
                await worker.write_state()

    @app.timer(interval=0.5)
    async def readiness() -> None:
        recovered = app.tables.recovery.completed.is_set()
        metrics.ready.set(1 if recovered and not app.rebalancing else 0)

    if pusher is not None:
        @app.task
        async def start_pushing() -> None:
            pusher.start()

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        return web.bytes(metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return worker


def _input_agent(worker: Worker, stream_name: str, topic_name: str) -> None:
    topic = worker.app.topic(topic_name, key_type=bytes, value_type=bytes, key_serializer="raw",
                             value_serializer="raw")

    @worker.app.agent(topic, name=f"riskwatch.decode-{stream_name}")
    async def decode(stream: Any) -> None:
        manual = stream.noack()  # acknowledged once the event's keyed items are with the producer
        async for event in manual.events():
            await worker.handle_input(topic_name, stream_name, event.message)
            worker.keyed_out.after_flush(partial(manual.ack, event))


def run_worker(settings: Settings, loglevel: str = "info") -> None:
    """Run the worker until SIGINT/SIGTERM (the ``riskwatch worker`` command)."""
    worker = build_worker(settings)
    gc.freeze()  # what is built by now lives as long as the worker: never scanned again
    gc.set_threshold(*GC_THRESHOLDS)
    summarise_repeated_client_errors()  # a broker outage: one line a kind every 10 s, not ten a second
    runner = faust.Worker(worker.app, loglevel=loglevel, quiet=True)
    # faust's terminal spinner, kept at "warning" and above, lowers the root logger to DEBUG
    # so that it can spin on every record: every debug call of aiokafka and faust then built
    # a log record (about 8% of the worker's CPU in the bench, which runs at "warning").
    runner.spinner = None
    runner.execute_from_commandline()
