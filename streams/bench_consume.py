"""The bench's own consumers: the bare consumer loop (the ``raw_consume`` stage)
and the alert-topic tail that times alerts for the latency stage."""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka import KafkaConsumer
from kafka import TopicPartition as KafkaTopicPartition


def raw_consume(bootstrap: list[str], topics: list[str], expect: int, timeout_s: float = 120.0) -> tuple[float, float]:
    """Read ``topics`` from the beginning with a bare aiokafka loop (``getmany``, then
    ``orjson.loads`` of each value, nothing else) until ``expect`` records are decoded.

    Returns the ``time.perf_counter()`` of the first and the last record. No
    consumer group: partitions are assigned, so nothing waits for a group join.
    """
    return asyncio.run(_raw_consume(bootstrap, topics, expect, timeout_s))


async def _raw_consume(bootstrap: list[str], topics: list[str], expect: int, timeout_s: float) -> tuple[float, float]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                fetch_max_wait_ms=10, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        if not tps:
            await consumer._client.force_metadata_update()
            tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        count, first, last = 0, 0.0, 0.0
        deadline = time.monotonic() + timeout_s
        while count < expect:
            if time.monotonic() > deadline:
                raise TimeoutError(f"raw consumer decoded {count} of {expect} records in {timeout_s:.0f} s")
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            if batches and not first:
                first = time.perf_counter()
            for records in batches.values():
                for record in records:
                    orjson.loads(record.value)
                count += len(records)
            last = time.perf_counter()
        return first, last
    finally:
        await consumer.stop()


class AlertTail:
    """Reads the alert topic from the beginning in a thread and, for every alert
    naming a watched event id in ``evidence.event_ids``, calls
    ``on_alert(event_id, time.time())`` once (the first alert for that event)."""

    def __init__(self, bootstrap: list[str], topic: str, watched: set[str],
                 on_alert: Callable[[str, float], None]) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.watched = watched
        self.on_alert = on_alert
        self.stopped = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="bench-alert-tail", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> "AlertTail":
        self.thread.start()
        if not self.ready.wait(30):
            raise TimeoutError(f"could not start reading {self.topic}")
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(15)

    def _run(self) -> None:
        try:
            consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None,
                                     fetch_max_wait_ms=5, client_id="riskwatch-bench-tail")
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            self.error = exc
            self.ready.set()
            return
        try:
            partitions = consumer.partitions_for_topic(self.topic) or set()
            tps = [KafkaTopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            self.ready.set()
            pending = set(self.watched)
            while not self.stopped.is_set():
                for records in consumer.poll(timeout_ms=50).values():
                    received = time.time()
                    for record in records:
                        evidence = orjson.loads(record.value).get("evidence") or {}
                        for event_id in evidence.get("event_ids") or ():
                            if event_id in pending:
                                pending.discard(event_id)
                                self.on_alert(event_id, received)
        except BaseException as exc:  # noqa: BLE001
            self.error = exc
        finally:
            consumer.close()
