"""The keyed topic's batch messages (streams/keyed_batches.py) and per-part acknowledgement
(streams/acks.py), without a broker."""
from __future__ import annotations

import asyncio

import orjson
import pytest

from streams.acks import InOrderAcks
from streams.keyed_batches import (
    KeyedBatcher,
    UnknownKeyedFormat,
    chunk_items,
    decode_keyed,
    encode_batch,
    encode_item,
)

EVENT = {"event_id": "p-1", "event_type": "premium_paid", "amount": 45000.0}


def test_every_format_of_the_keyed_topic_is_read():
    # An event's items may share one encoding of it.
    batch = encode_batch([encode_item("account", "A1", EVENT), encode_item("scorecard", "B\"7", orjson.dumps(EVENT))])
    assert orjson.loads(batch) == {"v": 2, "items": [["account", "A1", EVENT], ["scorecard", "B\"7", EVENT]]}
    assert decode_keyed(batch).items == [["account", "A1", EVENT], ["scorecard", "B\"7", EVENT]]
    assert decode_keyed(batch).marks is None
    # Version 1 (before batching): one item a message, as an older worker left them on the topic.
    assert list(decode_keyed(orjson.dumps(["account", "A1", EVENT])).items) == [["account", "A1", EVENT]]
    marks = decode_keyed(orjson.dumps({"marks": {"policy.events:0": [100.0, False]}, "sent_at": 1.5}))
    assert (list(marks.items), marks.marks, marks.sent_at) == ([], {"policy.events:0": [100.0, False]}, 1.5)
    assert decode_keyed(orjson.dumps({"marks": {}})).sent_at is None  # an older worker's


@pytest.mark.parametrize("value", [b'{"v": 3, "items": []}', b'{"items": []}', b'["account", "A1"]', b'7'])
def test_a_format_this_worker_does_not_know_is_refused_by_name(value):
    with pytest.raises(UnknownKeyedFormat, match="version|not a riskwatch"):
        decode_keyed(value)


def test_batches_stay_under_the_size_limit_and_keep_the_order():
    items = [b"x" * 40, b"y" * 40, b"z" * 40, b"w" * 200, b"v" * 10]
    # 41 bytes an item with its comma: two fit in 100, the 200-byte item goes alone.
    assert chunk_items(items, max_bytes=100) == [[b"x" * 40, b"y" * 40], [b"z" * 40], [b"w" * 200], [b"v" * 10]]
    assert chunk_items([], max_bytes=100) == []


class Sink:
    """Where the batcher's messages go in these tests: (partition, decoded value) in the order
    they reach it. ``hold_next`` holds the next send in flight until ``gate`` is set."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, object]] = []
        self.gate = asyncio.Event()
        self.hold_next = False
        self.fail_on: set[int] = set()

    async def send(self, partition: int, value: bytes) -> None:
        if self.hold_next:
            self.hold_next = False
            await self.gate.wait()
        if partition in self.fail_on:
            raise ConnectionError(f"partition {partition} unreachable")
        self.sent.append((partition, orjson.loads(value)))


def _items(sent, partition):
    return [i[1] for p, v in sent if p == partition and "items" in v for i in v["items"]]


def test_one_message_per_partition_and_the_acknowledgements_after_it():
    async def run():
        sink, acked = Sink(), []
        batcher = KeyedBatcher(sink.send, interval_s=3600)  # only explicit flushes here

        async def ack(name):
            acked.append((name, len(sink.sent)))

        for n, partition in enumerate([0, 1, 0, 2, 0]):
            batcher.add(partition, encode_item("account", f"A{n}", EVENT))
            batcher.after_flush(lambda n=n: ack(f"input-{n}"))
        assert sink.sent == [] and acked == []
        await batcher.flush()
        assert [p for p, _ in sink.sent] == [0, 1, 2]
        assert _items(sink.sent, 0) == ["A0", "A2", "A4"]
        # Acknowledged in order, each after all three messages went to the producer.
        assert acked == [(f"input-{n}", 3) for n in range(5)]
        assert (batcher.messages_sent, batcher.items_sent, batcher.pending_items()) == (3, 5, 0)
    asyncio.run(run())


def test_marks_follow_the_items_of_a_flush_that_was_in_flight():
    async def run():
        sink = Sink()
        batcher = KeyedBatcher(sink.send, interval_s=3600)
        batcher.add(0, encode_item("account", "early", EVENT))
        sink.hold_next = True  # this flush is stuck in the producer's send
        in_flight = asyncio.ensure_future(batcher.flush())
        await asyncio.sleep(0)
        batcher.add(0, encode_item("account", "late", EVENT))

        async def send_marks():  # as Worker.send_marks: the marks are taken, then sent under flushed()
            async with batcher.flushed():
                await sink.send(0, orjson.dumps({"marks": {}}))

        marks = asyncio.ensure_future(send_marks())
        await asyncio.sleep(0)
        sink.gate.set()
        await asyncio.gather(in_flight, marks)
        assert sink.sent == [(0, {"v": 2, "items": [["account", "early", EVENT]]}),
                             (0, {"v": 2, "items": [["account", "late", EVENT]]}),
                             (0, {"marks": {}})]
    asyncio.run(run())


def test_items_are_flushed_by_themselves_within_the_interval():
    async def run():
        sink, acked = Sink(), asyncio.Event()
        batcher = KeyedBatcher(sink.send, interval_s=0.001)

        async def ack():
            acked.set()

        batcher.add(3, encode_item("agent", "G1", EVENT))
        batcher.after_flush(ack)
        await asyncio.wait_for(acked.wait(), timeout=10)
        assert _items(sink.sent, 3) == ["G1"]
    asyncio.run(run())


def test_a_failed_send_keeps_the_items_and_the_acknowledgements_for_the_next_flush():
    async def run():
        sink, acked = Sink(), []
        batcher = KeyedBatcher(sink.send, interval_s=3600)

        async def ack():
            acked.append(len(sink.sent))

        batcher.add(0, encode_item("account", "A0", EVENT))
        batcher.add(1, encode_item("account", "A1", EVENT))
        batcher.after_flush(ack)
        sink.fail_on = {1}
        with pytest.raises(ConnectionError):
            await batcher.flush()
        assert acked == [] and batcher.pending_items() == 1  # partition 0 went, partition 1 waits
        batcher.add(1, encode_item("account", "A2", EVENT))
        sink.fail_on = set()
        await batcher.flush()
        assert _items(sink.sent, 1) == ["A1", "A2"]
        assert acked == [2]
    asyncio.run(run())


def test_a_batch_is_acknowledged_once_every_item_is_applied():
    acks = InOrderAcks()
    acks.arrived(10, "batch of 3", parts=3)
    acks.arrived(11, "marks")
    assert acks.finished(11, "marks") == []  # behind the batch
    assert acks.finished(10, "batch of 3") == []
    assert acks.finished(10, "batch of 3") == []
    assert acks.finished(10, "batch of 3") == ["batch of 3", "marks"]
    assert len(acks) == 0


def test_items_of_an_earlier_read_of_a_batch_do_not_count_for_the_new_read():
    acks = InOrderAcks()
    first, again = object(), object()
    acks.arrived(5, first, parts=2)
    assert acks.finished(5, first) == []  # one item applied, then faust read the batch again
    acks.arrived(5, again, parts=2)
    assert acks.finished(5, first) == []  # the first read's other item: the new read still has 2 to go
    assert acks.finished(5, again) == []
    assert acks.finished(5, again) == [again]
