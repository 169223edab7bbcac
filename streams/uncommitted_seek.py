"""Seek stream partitions that have no committed offset back to their beginning.

faust drops records it has fetched when the flow stops or the generation changes
under it (a rebalance; ``Consumer.getmany`` breaks off its batch), and counts on the
seek to committed offsets that follows every rebalance to read them again. aiokafka's
``seek_to_committed`` seeks only partitions whose committed offset is above 0
(``if offset and offset > 0``): a partition with nothing committed keeps the fetch
position past the dropped records, and they are never read. faust's read offset for it
is reset to None, so its lag shows the whole log while the worker sits idle.

``tests/integration/test_crash.py`` found it twice: a survivor that took over the input
partitions of a worker killed before its first commit never handled them (the
scale-out stall, 3 of 3 runs), and a worker restarted after a kill with almost nothing
committed on the keyed partitions lost alert ids.

:func:`patch_seek_uncommitted_to_beginning` makes the seek put such a partition where a
new consumer of the group would start: at its beginning, as the worker's
``consumer_auto_offset_reset="earliest"`` says. Table changelog partitions are left
alone: the group never commits them, and faust's recovery positions them itself.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def uncommitted(committed: Mapping[Any, int | None], is_changelog: Callable[[Any], bool]) -> list:
    """The stream partitions of ``committed`` (partition -> committed offset) with nothing committed."""
    return [tp for tp, offset in committed.items() if (offset is None or offset <= 0) and not is_changelog(tp)]


def patch_seek_uncommitted_to_beginning() -> None:
    """Make faust's seek to committed offsets seek uncommitted stream partitions to their beginning. Idempotent."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    if getattr(AIOKafkaConsumerThread, "_riskwatch_seek_uncommitted", False):
        return
    original = AIOKafkaConsumerThread.seek_to_committed

    async def seek_to_committed(self: Any) -> Mapping[Any, int]:
        committed = await original(self)
        fresh = uncommitted(committed, self.consumer._is_changelog_tp)
        if fresh:
            await self.call_thread(self._ensure_consumer().seek_to_beginning, *fresh)
        return committed

    AIOKafkaConsumerThread.seek_to_committed = seek_to_committed
    AIOKafkaConsumerThread._riskwatch_seek_uncommitted = True
