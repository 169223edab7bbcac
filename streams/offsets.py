"""True end offsets on brokers whose ``ListOffsets`` reply is wrong (the embedded broker).

Tansu answers a latest-offset request with the base offset of the partition's
last record batch plus one, not the offset after its last record (see
README, "The embedded broker"). The high watermark in a fetch response is
right, so :func:`true_end_offsets` seeks to just before the reported end and
reads the high watermark from one fetch.

faust's table recovery reads each changelog partition up to the consumer's
``end_offsets``, so on the embedded broker a table came back after a crash
missing its newest values. :func:`patch_faust_recovery` makes faust use the
true end offsets instead.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from kafka import KafkaConsumer, TopicPartition


def true_end_offsets(bootstrap: list[str], partitions: Iterable[tuple[str, int]],
                     timeout_s: float = 10.0, **client_config: Any) -> dict[tuple[str, int], int]:
    """``{(topic, partition): offset after the last record}`` from fetch high watermarks."""
    tps = [TopicPartition(t, p) for t, p in partitions]
    if not tps:
        return {}
    # A fetch below the end is answered at once; a short wait would find nothing on a
    # partition of many record batches on the embedded broker (streams/app.py, FETCH_MAX_WAIT_MS).
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             fetch_max_wait_ms=500, client_id="riskwatch-offsets", **client_config)
    try:
        consumer.assign(tps)
        reported = consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, max(0, reported[tp] - 1))
        deadline = time.monotonic() + timeout_s
        ends: dict[TopicPartition, int] = {}
        while len(ends) < len(tps) and time.monotonic() < deadline:
            consumer.poll(timeout_ms=200, max_records=1)
            for tp in tps:
                hw = consumer.highwater(tp)
                if hw is not None:
                    ends[tp] = max(hw, reported[tp])
        # An empty partition answers no fetch with records: its reported end (0) is right.
        return {(tp.topic, tp.partition): ends.get(tp, reported[tp]) for tp in tps}
    finally:
        consumer.close()


def patch_faust_recovery(bootstrap: list[str], client_config: Mapping[str, Any] | None = None) -> None:
    """Make faust's recovery (and anything else asking faust for highwaters) use
    :func:`true_end_offsets`. Idempotent; used for the embedded broker only."""
    import asyncio

    from faust.transport.drivers import aiokafka as driver
    from faust.types import TP

    thread = driver.AIOKafkaConsumerThread
    if getattr(thread, "_riskwatch_true_highwaters", False):
        return

    async def highwaters(self: Any, *partitions: TP) -> Mapping[TP, int]:
        ends = await asyncio.to_thread(true_end_offsets, bootstrap, [(tp.topic, tp.partition) for tp in partitions],
                                       **(client_config or {}))
        return {tp: ends[(tp.topic, tp.partition)] for tp in partitions}

    thread.highwaters = highwaters
    thread._riskwatch_true_highwaters = True
