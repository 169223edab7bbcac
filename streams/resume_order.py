"""Resume the stream partitions only after faust has seeked them to their committed offsets.

At the end of table recovery faust (faust-streaming 0.15, ``Recovery.on_recovery_completed``)
resumes the stream partitions, then seeks them to their committed offsets, then resumes
the flow, which clears every stream's queue. The fetcher is running and the flow is
already active by then (recovery and the global table's standby partitions resumed
them), so records fetched while the seek awaits the broker are delivered: the fetch loop
sets its read offset past them after the seek has reset it, the queue clearing drops
those not yet processed, and when the seek makes the consumer fetch them again they are
dropped as already read. They are never handled; faust then either commits over them (its
head check is skipped while nothing has been committed and off by one after, see
:mod:`streams.acks`) or never commits the partition again (a stall).
``tests/integration/test_crash.py`` found both after a restart: 7 input events committed
without being handled, and committed offsets that never reached the log ends.
(faust-streaming/faust#216 is the same race in the recovery path without tables.)

:func:`patch_resume_after_seek` holds back faust's ``resume_partitions`` call during
``on_recovery_completed`` and makes it after the seek and the queue clearing, when the
stream partitions are fetched from their committed offsets and nothing of them is in flight.
"""
from __future__ import annotations

from typing import Any


def patch_resume_after_seek() -> None:
    """Defer the stream partitions' resumption to the end of faust's recovery. Idempotent."""
    from faust.tables.recovery import Recovery

    if getattr(Recovery, "_riskwatch_resume_after_seek", False):
        return
    original = Recovery.on_recovery_completed

    async def on_recovery_completed(self: Any, generation_id: int = 0) -> None:
        consumer = self.app.consumer
        deferred: set = set()
        consumer.resume_partitions = deferred.update  # shadows the method for this call only
        try:
            await original(self, generation_id)
        finally:
            del consumer.resume_partitions
        # A rebalance that started meanwhile paused everything again; its own recovery resumes.
        if deferred and self.app.consumer_generation_id == generation_id:
            consumer.resume_partitions(deferred)

    Recovery.on_recovery_completed = on_recovery_completed
    Recovery._riskwatch_resume_after_seek = True
