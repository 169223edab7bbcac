"""Which entities a sweep must advance: an index of each state key's due time.

A sweep used to call every detector's ``advance`` for every entity at every
hour boundary, although most entities have nothing to drop or fire for weeks
(a replay of a generated month spent 70% of its time there; the worker also
hashed every key to find its partition's). The engine notes
:meth:`detectors.base.Detector.due` whenever it writes an entity's state, and a
sweep advances only the keys whose due time the watermark has reached: a heap
finds them without looking at the others.

The index lives beside the state, not in it: a store filled from elsewhere (a
worker's table recovered from its changelog) is unknown to it, so
:meth:`DueIndex.invalidate` makes the next sweep take every key in the store as
due, which rebuilds the index as the engine advances them.
"""
from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable
from typing import Protocol


class KeyedStore(Protocol):
    def keys(self) -> Iterable[str]: ...


class DueIndex:
    """State key -> the watermark at which its detector's ``advance`` may next act.

    Due keys come back in due-time order (then by key): a sweep fires what came due
    first first. About 200 bytes a key (key, due time, heap entry): it is part of the
    worker's memory per entity (README, "Performance")."""

    def __init__(self) -> None:
        self._due: dict[str, float] = {}
        #: (due, key); an entry whose due is no longer the key's is stale and skipped
        self._heap: list[tuple[float, str]] = []
        #: False until every key of the store has been seen: a store may come filled (by
        #: another engine, or a worker's changelog recovery).
        self._complete = False

    def note(self, key: str, due: float | None) -> None:
        """``key``'s state was written (``due`` None: deleted)."""
        if due is None:
            self._due.pop(key, None)
            return
        if self._due.get(key) == due:
            return  # its heap entry stands
        self._due[key] = due
        if due < math.inf:
            heapq.heappush(self._heap, (due, key))
            if len(self._heap) > 2 * len(self._due) + 1024:
                self._compact()

    def _compact(self) -> None:
        """Drop the stale heap entries (a key noted with a new due time leaves its old one)."""
        self._heap = [(due, key) for key, due in self._due.items() if due < math.inf]
        heapq.heapify(self._heap)

    def invalidate(self) -> None:
        """The store changed behind the index: the next sweep takes every key as due."""
        self._complete = False

    def due_keys(self, watermark: float, store: KeyedStore,
                 owned: Callable[[str], bool] | None = None) -> list[str]:
        """The keys (of those ``owned``, if given) whose due time ``watermark`` has reached.

        The caller advances each one and notes its new due time; due keys not owned
        stay due for their owner's sweep."""
        if not self._complete:
            for key in store.keys():
                self.note(key, -math.inf)
            self._complete = True
        due: list[str] = []
        others: list[tuple[float, str]] = []
        heap = self._heap
        while heap and heap[0][0] <= watermark:
            entry = heapq.heappop(heap)
            if self._due.get(entry[1]) != entry[0]:
                continue  # stale: deleted, or noted again since
            if owned is None or owned(entry[1]):
                self._due[entry[1]] = math.inf  # off the heap until the caller notes it again
                due.append(entry[1])
            else:
                others.append(entry)
        for entry in others:
            heapq.heappush(heap, entry)
        return due

    def __len__(self) -> int:
        return len(self._due)
