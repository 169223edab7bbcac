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
    only as a prefix of finished ones."""

    def __init__(self) -> None:
        self._order: deque[int] = deque()
        self._items: dict[int, Any] = {}
        self._finished: set[int] = set()

    def arrived(self, offset: int, item: Any) -> None:
        if offset not in self._items:  # read twice (faust fetched it again after a seek): one place
            self._order.append(offset)
        self._items[offset] = item

    def finished(self, offset: int) -> list[Any]:
        """Mark ``offset`` finished; returns the items that may now be acknowledged, in order."""
        if offset not in self._items:
            return []
        self._finished.add(offset)
        ready = []
        while self._order and self._order[0] in self._finished:
            head = self._order.popleft()
            self._finished.discard(head)
            ready.append(self._items.pop(head))
        return ready

    def __len__(self) -> int:
        return len(self._order)
