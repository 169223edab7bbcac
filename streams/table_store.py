"""The worker's state stores (:class:`streams.engine.StateStore`) over faust tables.

Every write to a faust table is a changelog record. Aggregate states are the
problem: a product's amount history (about 7 KB), a peer group of agents (up to
40 KB) are read, changed and written back on every event of their key. On a
100,000-event generated day that was 950 MB of changelog, 20 times the events'
own bytes; the embedded broker keeps every record in memory, and decoding those
states took 29% of the keyed stage's time (profile of a 200,000-event burst).

:class:`BatchedStateStore` therefore holds the states one batch of work
changes, decoded, and writes each to its table once, at :meth:`~BatchedStateStore.flush`.
The keyed stage flushes before it acknowledges the messages of the batch, so a
committed offset never runs ahead of the state it produced (a crash re-reads
and re-applies what was not flushed, as it re-reads what was not acknowledged).

A batch spans keyed messages of several partitions (the keyed stage flushes a
few times a second, not once a message: a hot aggregate was still written once
a message, 2.5 GB of a million-event burst's changelog). Each pending state
therefore remembers the partition it belongs to and is written to that changelog
partition: faust's own ``table[key] = value`` takes the partition of the event
being processed, which at a flush is only the last one.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import orjson


class TableStateStore:
    """A :class:`streams.engine.StateStore` over a faust table of orjson bytes, written through.

    Keys are stored as UTF-8 bytes: the raw codec hands keys back as bytes
    after changelog recovery, so storing them as bytes keeps one form.
    """

    def __init__(self, table: Any) -> None:
        self.table = table

    def get(self, key: str) -> Any:
        raw = self.raw(key)
        return None if raw is None else orjson.loads(raw)

    def raw(self, key: str) -> bytes | None:
        """The state under ``key`` as stored (orjson), None if there is none."""
        return self.table.get(key.encode())

    def set(self, key: str, value: Any, partition: int | None = None) -> int:
        """Write ``value`` under ``key``: to changelog ``partition`` if given, else to
        the partition of the event faust is processing. Returns its encoded size."""
        raw = orjson.dumps(value)
        k = key.encode()
        if self.table.get(k) == raw:
            # Unchanged (most sweeps and many events leave an entity as it was): every
            # write is a changelog record, ~10 per event before this check, ~1 after.
            return len(raw)
        # orjson returns its bytes in an over-allocated ~4 KiB buffer; a right-sized
        # copy keeps resident memory per entity near the state's own size.
        raw = bytes(memoryview(raw))
        if partition is None:
            self.table[k] = raw
        else:  # what faust's Table.__setitem__ does, with the partition given
            self.table.send_changelog(partition, k, raw)
            self.table.data[k] = raw
        return len(raw)

    def delete(self, key: str, partition: int | None = None) -> None:
        k = key.encode()
        if k not in self.table:
            return
        if partition is None:
            del self.table[k]
        else:  # what faust's Table.__delitem__ does, with the partition given
            self.table.send_changelog(partition, k, None, value_serializer="raw")
            del self.table.data[k]

    def keys(self) -> list[str]:
        return [k.decode() if isinstance(k, bytes) else k for k in list(self.table.keys())]


#: A key deleted in the batch (None is a state's absence to the engine, so a marker of its own).
_DELETED = object()
#: Encoded size (bytes) from which a state is large: kept decoded while it is among the
#: :data:`LARGE_STATES_KEPT` large ones used last (an agent peer group, a branch's scorecard
#: tasks, a product's amounts: a few hundred keys, 20 to 40 MB decoded, late in a
#: million-event burst). The rest, one or a few per entity, are small and cheap to decode.
LARGE_STATE_BYTES = 2048
LARGE_STATES_KEPT = 1024


class BatchedStateStore:
    """A :class:`streams.engine.StateStore` whose writes wait for :meth:`flush`.

    Within a batch a key is decoded once and written once however many events
    change it; :meth:`get` hands back the very object last :meth:`set`, so callers
    must set what they change (the engine and the scorecards always do).

    A state used in a batch stays decoded for the next one, and a large one (see
    :data:`LARGE_STATE_BYTES`) for as long as it is among the large ones used last:
    a hot aggregate is decoded once, not after every write-out. Decoding the states
    again after every write-out was 30% of the keyed stage late in a million-event
    burst, and freeing them another 7% (py-spy); kept for one batch only, the 40
    branches' scorecard tasks were still decoded 7,000 times in a 200,000-event burst.
    """

    def __init__(self, table: Any) -> None:
        self.written = TableStateStore(table)
        #: The changelog partition of what is set or deleted now (the keyed stage sets it to
        #: the partition of the message it applies); None: the current event's, as faust does.
        self.partition: int | None = None
        #: key -> its state as of this batch (or _DELETED), in order of first change
        self._pending: dict[str, Any] = {}
        #: key -> the changelog partition its pending state goes to
        self._partitions: dict[str, int | None] = {}
        #: key -> its state as written (None: absent), decoded: those this batch used, and
        #: those the last batch used that this one has not (yet)
        self._used: dict[str, Any] = {}
        self._used_before: dict[str, Any] = {}
        #: key -> a large state as written, decoded, least recently used first
        self._large: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str) -> Any:
        value = self._pending.get(key, self)
        if value is not self:
            return None if value is _DELETED else value
        value = self._used.get(key, self)
        if value is self:
            value = self._used_before.pop(key, self)
            if value is self:
                value = self._get_written(key)
            self._used[key] = value
        return value

    def _get_written(self, key: str) -> Any:
        value = self._large.get(key, self)
        if value is not self:
            self._large.move_to_end(key)
            return value
        raw = self.written.raw(key)
        if raw is None:
            return None
        value = orjson.loads(raw)
        if len(raw) >= LARGE_STATE_BYTES:
            self._keep_large(key, value)
        return value

    def _keep_large(self, key: str, value: Any) -> None:
        self._large[key] = value
        self._large.move_to_end(key)
        if len(self._large) > LARGE_STATES_KEPT:
            self._large.popitem(last=False)

    def set(self, key: str, value: Any) -> None:
        self._pending[key] = value
        self._partitions[key] = self.partition

    def delete(self, key: str) -> None:
        self._pending[key] = _DELETED
        self._partitions[key] = self.partition

    def keys(self) -> list[str]:
        held = self.written.keys()
        known = set(held)
        out = [k for k in held if self._pending.get(k) is not _DELETED]
        out.extend(k for k, v in self._pending.items() if v is not _DELETED and k not in known)
        return out

    def __len__(self) -> int:
        """States waiting for the flush."""
        return len(self._pending)

    def flush(self) -> None:
        """Write every state the batch changed to the table (unchanged ones are skipped
        by :meth:`TableStateStore.set`)."""
        pending, self._pending = self._pending, {}
        partitions, self._partitions = self._partitions, {}
        used = self._used
        for key, value in pending.items():
            if value is _DELETED:
                self.written.delete(key, partitions[key])
                used[key] = None
                self._large.pop(key, None)
            else:
                if self.written.set(key, value, partitions[key]) >= LARGE_STATE_BYTES:
                    self._keep_large(key, value)
                else:
                    self._large.pop(key, None)
                used[key] = value
        self._used_before, self._used = used, {}

    def forget_decoded(self) -> None:
        """Drop the decoded states kept between batches (a rebalance recovers the table's
        partitions from their changelogs: what was decoded may be out of date)."""
        self._used.clear()
        self._used_before.clear()
        self._large.clear()
