"""The worker's producer writes gzip batches at the fast level (streams/batch_compression.py)."""
from __future__ import annotations

import importlib

import orjson
from aiokafka import codec
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords

from streams.app import faust_settings
from streams.batch_compression import COMPRESSION_TYPE, GZIP_LEVEL, use_fast_gzip
from streams.settings import load_settings

GZIP = 1  # the record batch attribute for gzip


def _batch(value: bytes) -> bytes:
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=GZIP, is_transactional=False, producer_id=-1,
                                        producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for offset in range(20):
        builder.append(offset, timestamp=None, key=None, value=value, headers=[])
    return bytes(builder.build())


def test_batches_are_gzip_at_the_fast_level_and_read_back(monkeypatch):
    use_fast_gzip()
    use_fast_gzip()  # twice: still the level itself, not a wrapper of a wrapper
    module = importlib.import_module(DefaultRecordBatchBuilder.__module__)  # the compiled one when present
    encode = module.gzip_encode
    assert encode.func is codec.gzip_encode and encode.keywords == {"compresslevel": GZIP_LEVEL}
    calls = []
    monkeypatch.setattr(module, "gzip_encode", lambda data: calls.append(len(data)) or encode(data))
    value = orjson.dumps({f"AG{100000 + i}": {"n": i, "rate": i / 7} for i in range(400)})
    batch = _batch(value)
    assert len(calls) == 1, "the record batch builder did not call the module's gzip_encode"
    assert len(batch) < 20 * len(value) / 4
    assert [record.value for record in MemoryRecords(batch).next_batch()] == [value] * 20


def test_the_worker_asks_faust_for_gzip():
    assert faust_settings(load_settings({}))["producer_compression_type"] == COMPRESSION_TYPE == "gzip"
