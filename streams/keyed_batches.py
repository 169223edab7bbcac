"""Messages of the keyed topic (``riskwatch.keyed-events``): many re-keyed items in one message.

Per input event the input stage makes about 2.5 re-keyed items (``[keyspace, entity,
event]``) and, for a branch's scorecards, one more. Sent one Kafka message each, they
cost the keyed stage faust's per-message path 3.5 times per input event, and the
embedded broker answers a fetch with one record batch per partition, so a backlog of
small messages drains at a few hundred messages a second (README, "The embedded
broker"). The input stage therefore gathers its items per keyed partition
(:class:`KeyedBatcher`) and sends one message per partition every few milliseconds.

Formats on the topic, told apart by their JSON shape so that a worker reads what an
older one wrote (a rolling upgrade, or a backlog written before it):

- ``{"v": 2, "items": [[keyspace, entity, payload], ...]}``: a batch, in the order the
  items were made (this version writes these);
- ``[keyspace, entity, payload]``: one item (version 1, before batching);
- ``{"marks": {...}, "sent_at": unix seconds}``: source marks (:mod:`streams.watermarks`);
  marks of older versions have no ``sent_at`` (counted as sent before any other).

A worker of version 1 cannot read a batch: stop the old workers before starting new ones.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson

log = logging.getLogger(__name__)

BATCH_VERSION = 2
#: Longest an item waits in the input stage before it is handed to the producer (seconds).
#: Items wait for the next source marks anyway (every 0.5 s, and the marks flush first);
#: fewer, fuller messages keep the keyed topic's record batches few, which the embedded
#: broker needs (see streams/app.py, FETCH_MAX_WAIT_MS): 5 ms made up to 200 a second
#: a partition, this some 20 (and the marks 2). Not longer: at 250 ms the 40,000-event
#: burst's peak RSS went from within 600 MiB to 727 MiB (tests/integration/test_burst.py).
FLUSH_INTERVAL_S = 0.05
#: Largest batch message (bytes of items; an item larger than this goes alone). Below the
#: producer's largest request (faust's default 1,000,000 bytes) with room to spare.
MAX_MESSAGE_BYTES = 512 * 1024
#: After a failed send (the producer stopping, say), the next timed try; marks flush sooner.
RETRY_AFTER_S = 1.0


class UnknownKeyedFormat(ValueError):
    """A keyed message this worker cannot read: written by a newer version, or not by riskwatch."""


@dataclass(frozen=True, slots=True)
class KeyedMessage:
    """A decoded keyed message: its items (``[keyspace, entity, payload]`` each), or source marks."""

    items: Sequence[list]
    marks: dict[str, list] | None = None
    #: The wall time the marks were sent at (None: not said).
    sent_at: float | None = None


def decode_keyed(value: bytes) -> KeyedMessage:
    """Read any format of the keyed topic (see the module's docstring); raises
    :class:`UnknownKeyedFormat` for anything else."""
    data = orjson.loads(value)
    if isinstance(data, list) and len(data) == 3:
        return KeyedMessage(items=(data,))
    if isinstance(data, dict):
        if "marks" in data:
            return KeyedMessage(items=(), marks=data["marks"], sent_at=data.get("sent_at"))
        if data.get("v") == BATCH_VERSION and isinstance(data.get("items"), list):
            return KeyedMessage(items=data["items"])
        raise UnknownKeyedFormat(
            f"keyed message of format version {data.get('v')!r}: this worker reads versions 1 and "
            f"{BATCH_VERSION}; run one version of riskwatch on a keyed topic at a time")
    raise UnknownKeyedFormat(f"keyed message is a JSON {type(data).__name__}, not a riskwatch item, batch or marks")


def encode_item(keyspace: str, entity: str, payload: dict[str, Any] | bytes) -> bytes:
    """``[keyspace, entity, payload]`` as JSON; ``payload`` a dict, or its JSON already
    (an event's 2 to 3 items share one encoding of it)."""
    if isinstance(payload, bytes):
        return orjson.dumps([keyspace, entity])[:-1] + b"," + payload + b"]"
    return orjson.dumps([keyspace, entity, payload])


def chunk_items(items: Sequence[bytes], max_bytes: int = MAX_MESSAGE_BYTES) -> list[list[bytes]]:
    """Encoded items cut into as few batches as ``max_bytes`` allows, in their order."""
    chunks: list[list[bytes]] = []
    size = 0
    for item in items:
        if not chunks or size + len(item) > max_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += len(item) + 1
    return chunks


def encode_batch(items: Sequence[bytes]) -> bytes:
    # Joined, not re-encoded: each item was encoded once when it was made.
    return b'{"v":%d,"items":[' % BATCH_VERSION + b",".join(items) + b"]}"


class KeyedBatcher:
    """The input stage's items, gathered per keyed partition and sent as batch messages.

    :meth:`add` takes an item at once (no await), so an event's items are gathered
    before its source mark moves (``SourceMarks.handled``). :meth:`flush` hands every
    gathered partition to ``send(partition, value)``, then runs the callbacks given to
    :meth:`after_flush` before it started: the input stage acknowledges an input message
    there, so its offset is committed only once its items are with the producer (which
    faust flushes before it commits). A flush runs ``interval_s`` after the first item or
    callback since the last one; :meth:`flushed` also flushes, and holds back every other
    flush while its block sends (the marks must follow the items they count).

    If ``send`` fails, the items not sent and every callback stay for the next flush
    (items already sent may go twice: the keyed stage dedupes by event id)."""

    def __init__(self, send: Callable[[int, bytes], Awaitable[Any]], interval_s: float = FLUSH_INTERVAL_S,
                 max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self._send = send
        self.interval_s = interval_s
        self.max_bytes = max_bytes
        #: keyed partition -> encoded items, in the order they were added
        self._pending: dict[int, list[bytes]] = {}
        self._after: list[Callable[[], Awaitable[Any]]] = []
        self._lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task | None = None
        #: batch messages sent and items in them (for tests and logs)
        self.messages_sent = 0
        self.items_sent = 0

    def add(self, partition: int, item: bytes) -> None:
        """Gather an encoded item (:func:`encode_item`) for ``partition``."""
        self._pending.setdefault(partition, []).append(item)
        self._arm()

    def after_flush(self, callback: Callable[[], Awaitable[Any]]) -> None:
        """Run ``callback`` once everything added so far has been handed to ``send``."""
        self._after.append(callback)
        self._arm()

    def pending_items(self) -> int:
        return sum(len(items) for items in self._pending.values())

    async def flush(self) -> None:
        async with self._lock:
            await self._flush_locked()

    @asynccontextmanager
    async def flushed(self) -> AsyncIterator[None]:
        """Flush, and send nothing else until the block ends."""
        async with self._lock:
            await self._flush_locked()
            yield

    async def _flush_locked(self) -> None:
        callbacks = len(self._after)
        for partition in list(self._pending):
            items = self._pending.pop(partition)
            chunks = chunk_items(items, self.max_bytes)
            for sent, chunk in enumerate(chunks):
                try:
                    await self._send(partition, encode_batch(chunk))
                except BaseException:
                    unsent = [item for rest in chunks[sent:] for item in rest]
                    self._pending[partition] = unsent + self._pending.get(partition, [])
                    raise
            self.messages_sent += len(chunks)
            self.items_sent += len(items)
        done, self._after = self._after[:callbacks], self._after[callbacks:]
        for callback in done:
            await callback()

    def _arm(self, delay_s: float | None = None) -> None:
        if self._timer is None and self._task is None:
            delay_s = self.interval_s if delay_s is None else delay_s
            self._timer = asyncio.get_running_loop().call_later(delay_s, self._start_timed_flush)

    def _start_timed_flush(self) -> None:
        self._timer = None
        self._task = asyncio.ensure_future(self._timed_flush())

    async def _timed_flush(self) -> None:
        retry = False
        try:
            await self.flush()
        except Exception:
            retry = True
            log.exception("sending %d keyed items failed; retrying in %.0f s", self.pending_items(), RETRY_AFTER_S)
        finally:
            self._task = None
        if self._pending or self._after:  # added while this flush ran, or left by a failure
            self._arm(RETRY_AFTER_S if retry else self.interval_s)
