"""The embedded broker serves a partition of many record batches to the worker.

Tansu lists a partition's record batches from the first at every fetch (about 1 us
each here) and answers nothing once the fetch's max wait runs out first. With the
worker's fetch wait at 10 ms a partition stopped being served somewhere between
12,000 and 30,000 batches: a million-event burst's keyed topic stalled for good.
This test writes 30,000 one-record batches to one input partition (bad input, so
that the worker's cost per message is small) and checks the worker reads them all.

The batches are written before the worker starts: with the worker fetching while
they are written, each fetch lists every batch so far, and writing them took 89 s
instead of 23 here and over 120 s on CI, where records began to expire in the producer.
"""
from __future__ import annotations

import time

import pytest
from kafka import KafkaProducer

from services import wait_until

pytestmark = pytest.mark.integration

BATCHES = 30_000


def test_a_partition_of_30000_record_batches_is_read_to_its_end(start_system):
    produced_s = 0.0

    def write_batches(settings) -> None:
        nonlocal produced_s
        started = time.monotonic()
        # batch_size=1: every record is a record batch of its own. No delivery timeout:
        # a slow broker makes this test slower, never loses records.
        producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=0, batch_size=1,
                                 delivery_timeout_ms=3_600_000)
        for n in range(BATCHES):
            producer.send(settings.topics.policy, value=b"not json %d" % n, partition=0)
        producer.flush()
        producer.close()
        produced_s = time.monotonic() - started

    system = start_system(before_start=write_batches)
    system.wait_ready()
    started = time.monotonic()
    wait_until(lambda: system.progress().rejected >= BATCHES, 240,
               f"the worker to read {BATCHES} batches of one partition")
    counts = system.progress()
    assert (counts.consumed, counts.rejected) == (0, BATCHES), counts
    print(f"{BATCHES} one-record batches on one partition produced in {produced_s:.1f} s, all read and "
          f"dead-lettered {time.monotonic() - started:.1f} s after the worker was ready")
