"""Repeated client errors summarised, not repeated: a broker outage in one line a kind every few seconds.

While the broker is unreachable, aiokafka retries every 100 ms and logs each failure
(ERROR "Unable connect to node...", "Unable to update metadata...", "Failed fetch
messages..."): some 2,300 lines in a 20 s outage, in which the one line that says what
happened is lost. :class:`RepeatedRecordFilter` lets the first record of each kind
through, holds back the same kind for ``every_s`` seconds, and marks the next one it
lets through with how many it held back.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

#: Kinds remembered at most: a logger that formats its own messages makes a kind of each.
MAX_KINDS = 1_000


class RepeatedRecordFilter(logging.Filter):
    """A record of a kind (logger, level, message template) already let through within
    ``every_s`` seconds is dropped and counted; records below WARNING always pass."""

    def __init__(self, every_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every_s = every_s
        self.clock = clock
        self._kinds: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        kind = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        last = self._kinds.get(kind)
        if last is not None and now - last[0] < self.every_s:
            self._kinds[kind] = (last[0], last[1] + 1)
            return False
        if len(self._kinds) >= MAX_KINDS:
            self._kinds.clear()
        self._kinds[kind] = (now, 0)
        if last is not None and last[1]:
            record.msg = f"{record.msg} [and {last[1]} more like this in the last {now - last[0]:.0f} s]"
        return True


def summarise_repeated_client_errors(every_s: float = 10.0) -> RepeatedRecordFilter:
    """Put one :class:`RepeatedRecordFilter` on every aiokafka logger (a logger's filters
    see the records made on it, whatever handlers faust sets up later)."""
    import aiokafka  # noqa: F401  (its modules create their loggers on import)

    repeated = RepeatedRecordFilter(every_s)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.split(".")[0] == "aiokafka" and isinstance(logger, logging.Logger):
            logger.addFilter(repeated)
    return repeated
