"""The worker's state stores over faust tables (a dict stands in for the table: both
are mappings of bytes to bytes, and the stores use nothing else of faust's)."""
from __future__ import annotations

import faust
import orjson

from detectors.config import DetectorConfig
from streams.codec import decode_event
from streams.engine import DictStateStore, RiskEngine, run_events
from streams.generator import GeneratorConfig, generate
from streams.table_store import BatchedStateStore, TableStateStore


class CountingTable(dict):
    """A table that counts its writes (each one a changelog record in faust) and its reads."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.reads = 0

    def __setitem__(self, key, value) -> None:
        self.writes += 1
        super().__setitem__(key, value)

    def get(self, key, default=None):
        self.reads += 1
        return super().get(key, default)


def test_writes_wait_for_the_flush_and_each_changed_key_is_written_once():
    table = CountingTable()
    store = BatchedStateStore(table)
    for n in range(50):
        state = store.get("amount_anomaly_product|P1") or {"n": 0}
        state["n"] += 1
        store.set("amount_anomaly_product|P1", state)
    assert table == {} and store.get("amount_anomaly_product|P1") == {"n": 50}
    store.flush()
    assert table == {b"amount_anomaly_product|P1": orjson.dumps({"n": 50})} and table.writes == 1
    assert store.get("amount_anomaly_product|P1") == {"n": 50}


def test_a_state_set_back_unchanged_is_not_written_again():
    table = CountingTable()
    store = BatchedStateStore(table)
    store.set("k", {"a": 1})
    store.flush()
    store.set("k", store.get("k"))
    store.flush()
    assert table.writes == 1


def test_a_deletion_waits_for_the_flush_too():
    table = CountingTable()
    TableStateStore(table).set("gone", [1])
    TableStateStore(table).set("kept", [2])
    store = BatchedStateStore(table)
    store.delete("gone")
    store.set("new", [3])
    assert store.get("gone") is None and b"gone" in table
    assert store.keys() == ["kept", "new"]
    store.flush()
    assert set(table) == {b"kept", b"new"} and store.keys() == ["kept", "new"]
    store.delete("never-there")
    store.flush()
    assert set(table) == {b"kept", b"new"}


def test_the_engine_finds_the_same_with_batched_writes():
    """Flushed every few events (as the keyed stage flushes after each message), the
    engine raises the same alerts and leaves the same states as with a plain dict."""
    events, _ = generate(GeneratorConfig(seed=5, events=3000, customers=2000, days=30))
    decoded = [decode_event(orjson.dumps(g.event), None, 4e9) for g in events]
    plain = DictStateStore()
    expected = [a.to_dict() for a in run_events(RiskEngine(DetectorConfig(), clock=lambda: 4e9), decoded, plain)]

    table = CountingTable()
    batched = BatchedStateStore(table)

    def flushed_every_7():
        for n, event in enumerate(decoded):
            if n % 7 == 0:
                batched.flush()
            yield event

    got = [a.to_dict() for a in run_events(RiskEngine(DetectorConfig(), clock=lambda: 4e9), flushed_every_7(), batched)]
    batched.flush()
    assert got == expected and len(expected) > 10
    assert {k.decode(): orjson.loads(v) for k, v in table.items()} == orjson.loads(orjson.dumps(plain.data))


def _changelog_records(app) -> list[tuple[int, bytes, bytes | None]]:
    """What faust's producer buffer holds for the changelogs: (partition, key, value)."""
    pending = app.producer.buffer.pending
    out = []
    while not pending.empty():
        message = pending.get_nowait().message
        out.append((message.partition, message.key, message.value))
    return out


def test_each_state_goes_to_the_changelog_partition_it_was_set_for():
    """A flush writes states of several keyed partitions (the keyed stage flushes a few
    times a second, across messages): each to its own changelog partition, not to the
    partition of the event faust processes last. A real faust table, not started: its
    changelog records wait in the producer's buffer."""
    app = faust.App("riskwatch-test-store", broker="kafka://127.0.0.1:1", store="memory://",
                    key_serializer="raw", value_serializer="raw")
    table = app.Table("state", partitions=4, key_type=bytes, value_type=bytes, default=None)
    store = BatchedStateStore(table)
    store.partition = 2
    store.set("a", {"n": 1})
    store.partition = 3
    store.set("b", [1])
    store.set("c", {"n": 2})
    assert _changelog_records(app) == [] and len(store) == 3
    store.flush()
    assert _changelog_records(app) == [(2, b"a", b'{"n":1}'), (3, b"b", b"[1]"), (3, b"c", b'{"n":2}')]
    assert table[b"c"] == b'{"n":2}' and len(store) == 0
    store.delete("b")
    store.flush()
    assert _changelog_records(app) == [(3, b"b", None)] and b"b" not in table


def test_a_state_each_batch_uses_is_decoded_once_and_one_a_batch_skips_is_let_go():
    table = CountingTable()
    TableStateStore(table).set("hot", {"n": 0})
    TableStateStore(table).set("cold", {"n": 0})
    store = BatchedStateStore(table)
    assert store.get("cold") == {"n": 0}
    for n in range(1, 4):  # three batches each change "hot"
        state = store.get("hot")
        state["n"] = n
        store.set("hot", state)
        store.flush()
    reads = table.reads
    assert store.get("hot") == {"n": 3} and table.reads == reads  # still decoded
    store.flush()
    store.flush()  # a batch that did not use it: let go
    assert store.get("hot") == {"n": 3} and table.reads == reads + 1
    assert store.get("cold") == {"n": 0} and table.reads == reads + 2  # let go after the first batch
    store.delete("hot")
    store.flush()
    assert store.get("hot") is None and b"hot" not in table


def test_forgetting_the_decoded_states_reads_them_from_the_table_again():
    """After a rebalance the table's partitions are recovered from their changelogs."""
    table = CountingTable()
    store = BatchedStateStore(table)
    store.set("k", {"n": 1})
    store.flush()
    dict.__setitem__(table, b"k", b'{"n":2}')  # recovered from the changelog, newer
    store.forget_decoded()
    assert store.get("k") == {"n": 2}


def test_a_large_state_stays_decoded_while_it_is_among_the_large_ones_used_last(monkeypatch):
    import streams.table_store as table_store

    monkeypatch.setattr(table_store, "LARGE_STATES_KEPT", 2)
    table = CountingTable()
    large = {"items": list(range(table_store.LARGE_STATE_BYTES))}
    for key in ("L1", "L2", "L3"):
        TableStateStore(table).set(key, large)
    TableStateStore(table).set("small", {"n": 1})
    store = BatchedStateStore(table)
    for key in ("L1", "L2", "small"):
        store.get(key)
    for _ in range(3):  # batches that use none of them
        store.flush()
    reads = table.reads
    assert store.get("L1") == large and store.get("L2") == large and table.reads == reads
    assert store.get("small") == {"n": 1} and table.reads == reads + 1
    store.get("L3")  # a third large one: the least recently used (L1) is let go
    for _ in range(3):
        store.flush()
    reads = table.reads
    store.get("L2"), store.get("L3")
    assert table.reads == reads
    store.get("L1")
    assert table.reads == reads + 1
    store.set("L2", {"n": 2})  # written small: no longer kept as large
    store.flush()
    store.flush()
    store.flush()
    reads = table.reads
    assert store.get("L2") == {"n": 2} and table.reads == reads + 1
