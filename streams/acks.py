"""Acknowledge a partition's messages to faust in offset order only.

The keyed stage finishes messages out of offset order: marks at once, events
when the low watermark releases them (:mod:`streams.watermarks`). faust commits
the first run of consecutive acknowledged offsets it holds, and its check that
the run starts at the committed offset is wrong (faust-streaming 0.11,
``Consumer._new_offset``): it is skipped while nothing has been committed on the
partition, and off by one afterwards (``min(acked) - committed > 1``). A mark
acknowledged after held events was therefore committed over them, and a crash
lost them (``tests/integration/test_crash.py`` found it). Handing faust its acks
in offset order keeps every run it sees starting at its committed offset.
"""
from __future__ import annotations

from collections import deque
from typing import Any


class InOrderAcks:
    """One partition's messages in arrival (offset) order, released for acknowledgement
    only as a prefix of finished ones. A message of several parts (a batch of items,
    :mod:`streams.keyed_batches`) is finished when every part is."""

    def __init__(self) -> None:
        self._order: deque[int] = deque()
        #: offset -> [the message as last read, parts not finished yet]
        self._items: dict[int, list] = {}

    def arrived(self, offset: int, item: Any, parts: int = 1) -> None:
        if offset not in self._items:  # read twice (faust fetched it again after a seek): one place
            self._order.append(offset)
        # A second read starts the count again: its parts are applied again (detectors
        # dedupe by event id), and the first read's parts no longer count (see finished).
        self._items[offset] = [item, parts]

    def finished(self, offset: int, item: Any = None) -> list[Any]:
        """Mark one part of ``offset`` finished; returns the items that may now be
        acknowledged, in order. With ``item``, a part of an earlier read of the offset
        (not the message last read) counts for nothing."""
        entry = self._items.get(offset)
        if entry is None or (item is not None and item is not entry[0]):
            return []
        entry[1] -= 1
        ready = []
        while self._order and self._items[self._order[0]][1] <= 0:
            ready.append(self._items.pop(self._order.popleft())[0])
        return ready

    def __len__(self) -> int:
        return len(self._order)
