"""``riskwatch tail``: read the alert topic and print each alert."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

import orjson
from kafka import KafkaConsumer, TopicPartition

from streams.settings import Settings


def format_alert(alert: dict) -> str:
    """One line for a terminal: tier, typology, entity, one line of evidence."""
    return (f"{alert.get('event_time', '?')}  {alert.get('tier', '?').upper():8} "
            f"{alert.get('typology', '?'):24} {alert.get('entity_type', '?')}:{alert.get('entity_id', '?')}  "
            f"{alert.get('summary', '')}")


def tail_alerts(settings: Settings, *, from_beginning: bool = False, max_alerts: int | None = None,
                idle_timeout_s: float | None = None, on_alert: Callable[[dict, bytes], None],
                should_stop: Callable[[], bool] = lambda: False, topic: str | None = None) -> int:
    """Call ``on_alert`` for each alert until ``max_alerts``, ``idle_timeout_s`` without one, or ``should_stop``.

    ``topic``: another topic of JSON records to read the same way (default the alert topic).

    Reads every partition directly (no consumer group), so it never disturbs
    other consumers and starts at once. Returns the number of alerts seen.
    """
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                             group_id=None, client_id="riskwatch-tail", fetch_max_wait_ms=100,
                             **settings.kafka_client_config)
    try:
        topic = topic or settings.topics.alerts
        partitions = consumer.partitions_for_topic(topic) or set()
        deadline = time.monotonic() + 10
        while not partitions and time.monotonic() < deadline:
            time.sleep(0.2)
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        if from_beginning:
            consumer.seek_to_beginning(*tps)
        else:
            consumer.seek_to_end(*tps)
        seen = 0
        last = time.monotonic()
        while not should_stop():
            batches = consumer.poll(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    try:
                        alert = orjson.loads(record.value)
                    except orjson.JSONDecodeError:
                        continue
                    on_alert(alert, record.value)
                    seen += 1
                    last = time.monotonic()
                    if max_alerts is not None and seen >= max_alerts:
                        return seen
            if idle_timeout_s is not None and time.monotonic() - last > idle_timeout_s:
                return seen
        return seen
    finally:
        consumer.close()


def printer(as_json: bool, out: TextIO = sys.stdout) -> Callable[[dict, bytes], None]:
    def show(alert: dict, raw: bytes) -> None:
        out.write((raw.decode() if as_json else format_alert(alert)) + "\n")
        out.flush()

    return show
