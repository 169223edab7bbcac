"""Pause and resume fetching from partitions in the Kafka client itself.

faust's ``Consumer.pause_partitions`` only takes a partition out of the set its
fetch loop hands out, and that loop drops the records of a partition that left
the set between the fetch and their delivery (faust-streaming 0.11,
``Consumer.getmany``): the client's position has moved past them, so they are
never handled and the partition's commits stop at the gap. Pausing input
partitions for event-time alignment (:mod:`streams.alignment`) every half second
found it at once: a 200,000-event burst stalled with 2,120 events of a partition
never read. aiokafka's own ``pause`` drops only the records it has not handed
out yet, without moving the position, and fetches them again on ``resume``.

faust runs the aiokafka consumer on a thread of its own, with its own event
loop: the calls go through that thread (``ConsumerThread.call_thread``).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiokafka.errors import IllegalStateError
from aiokafka.structs import TopicPartition


def _apply(client: Any, pause: list[TopicPartition], resume: list[TopicPartition]) -> None:
    assigned = client.assignment()
    # A partition may have left the assignment since it was chosen (a rebalance): skipped.
    pause = [tp for tp in pause if tp in assigned]
    resume = [tp for tp in resume if tp in assigned]
    try:
        if resume:
            client.resume(*resume)
        if pause:
            client.pause(*pause)
    except IllegalStateError:
        pass  # unassigned in between: the next assignment starts unpaused


async def set_paused(app: Any, pause: Iterable[Any], resume: Iterable[Any]) -> None:
    """Pause fetching from the partitions ``pause`` and resume ``resume`` (faust TPs)."""
    pause = [TopicPartition(tp.topic, tp.partition) for tp in pause]
    resume = [TopicPartition(tp.topic, tp.partition) for tp in resume]
    if not pause and not resume:
        return
    thread = app.consumer._thread
    await thread.call_thread(_apply, thread._ensure_consumer(), pause, resume)


def paused(app: Any) -> set[tuple[str, int]]:
    """The partitions the client has paused now, as ``(topic, partition)``."""
    return {(tp.topic, tp.partition) for tp in app.consumer._thread._ensure_consumer().paused()}
