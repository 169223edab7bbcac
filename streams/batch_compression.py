"""Compressed record batches from the worker's producer.

The embedded broker keeps every record batch in memory as it arrived, and most of
what the worker writes is JSON that compresses well: its state changelogs (a
peer group of agents, a branch's scorecard tasks: tens of KB a write) and the
keyed topic's batches of events. Measured on the embedded broker: 692 MB of state
JSON took 698 MiB of its memory sent plain and 85 MiB sent as gzip batches. Any
Kafka client reads gzip without a package of its own (kafka-python, the Java
client, librdkafka), so the alert topics stay readable by every consumer.

aiokafka compresses gzip at level 9, 34 MB/s on state JSON on this machine; level
1 runs at 346 MB/s for some 10% more bytes, so the worker's producer uses level 1.
"""
from __future__ import annotations

from functools import partial

#: faust's ``producer_compression_type`` for the worker.
COMPRESSION_TYPE = "gzip"
GZIP_LEVEL = 1


def use_fast_gzip() -> None:
    """Make aiokafka build gzip record batches at :data:`GZIP_LEVEL` (idempotent).

    aiokafka calls its ``gzip_encode`` without a level from the record batch
    builder, the compiled one if present and the Python one otherwise; both look
    the name up in their module at call time."""
    from aiokafka import codec
    from aiokafka.record import default_records

    modules = [default_records]
    try:
        from aiokafka.record._crecords import default_records as compiled
    except ImportError:  # aiokafka without its C extensions
        pass
    else:
        modules.append(compiled)
    encode = partial(codec.gzip_encode, compresslevel=GZIP_LEVEL)
    for module in modules:
        module.gzip_encode = encode
