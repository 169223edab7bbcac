"""Repeated client errors are summarised (streams/log_flood.py)."""
from __future__ import annotations

import logging

from streams.log_flood import RepeatedRecordFilter, summarise_repeated_client_errors


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(msg: str, *args: object, level: int = logging.ERROR, name: str = "aiokafka") -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_a_kind_passes_once_per_period_and_then_says_how_many_were_held_back():
    clock = Clock()
    repeated = RepeatedRecordFilter(every_s=10.0, clock=clock)
    passed = []
    for tenth in range(250):  # 25 s of a failure every 100 ms
        clock.now = tenth / 10
        r = record("Unable connect to node with id %s: %s", 1, "Connect call failed")
        if repeated.filter(r):
            passed.append((clock.now, r.getMessage()))
    assert passed == [
        (0.0, "Unable connect to node with id 1: Connect call failed"),
        (10.0, "Unable connect to node with id 1: Connect call failed [and 99 more like this in the last 10 s]"),
        (20.0, "Unable connect to node with id 1: Connect call failed [and 99 more like this in the last 10 s]"),
    ]


def test_kinds_are_counted_apart_and_info_always_passes():
    clock = Clock()
    repeated = RepeatedRecordFilter(every_s=10.0, clock=clock)
    assert repeated.filter(record("Unable to update metadata from %s", [1]))
    assert repeated.filter(record("Failed fetch messages from %s: %s", 1, "x", name="aiokafka.consumer.fetcher"))
    assert repeated.filter(record("Unable to update metadata from %s", [1], level=logging.WARNING))
    assert not repeated.filter(record("Unable to update metadata from %s", [2]))
    assert all(repeated.filter(record("Heartbeat %s", n, level=logging.INFO)) for n in range(5))


def test_every_aiokafka_logger_gets_the_filter():
    repeated = summarise_repeated_client_errors()
    try:
        for name in ("aiokafka", "aiokafka.consumer.fetcher", "aiokafka.consumer.group_coordinator",
                     "aiokafka.producer.sender"):
            assert repeated in logging.getLogger(name).filters, name
        assert repeated not in logging.getLogger("faust").filters
    finally:
        for logger in logging.root.manager.loggerDict.values():
            if isinstance(logger, logging.Logger) and repeated in logger.filters:
                logger.removeFilter(repeated)
