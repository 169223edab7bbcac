"""A progress bar on stderr for the long-running commands, drawn only on a terminal.

Piped or redirected, it writes nothing at all, so ``--json`` output and logs
stay clean. Evaluation code takes a :class:`Progress` (or ``None``) and calls
:meth:`Progress.advance`; only the CLI decides whether one is drawn.

>>> import io
>>> with Progress(10, "series", stream=io.StringIO()) as bar:  # not a terminal: silent
...     bar.advance(10)
"""
from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")

#: Redraw at most this often (seconds), so a tight loop is not slowed by the terminal.
REDRAW_S = 0.1
BAR_WIDTH = 30


class Progress:
    """``label [#####-----] done/total elapsed`` on one line, redrawn in place."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None,
                 clock=time.monotonic) -> None:
        self.total = max(int(total), 0)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.done = 0
        self.started = clock()
        self._drawn_at = float("-inf")
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty())

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def advance(self, steps: int = 1, label: str | None = None) -> None:
        self.done = min(self.done + steps, self.total) if self.total else self.done + steps
        if label is not None:
            self.label = label
        if self.enabled and (self.clock() - self._drawn_at >= REDRAW_S or self.done == self.total):
            self._draw()

    def each(self, items: Iterable[T]) -> Iterator[T]:
        """``items``, advancing one step after each."""
        for item in items:
            yield item
            self.advance()

    def line(self) -> str:
        """The text of the bar as it would be drawn now."""
        share = self.done / self.total if self.total else 0.0
        filled = int(round(share * BAR_WIDTH))
        return (f"{self.label} [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] "
                f"{self.done}/{self.total} {self.clock() - self.started:.0f}s")

    def _draw(self) -> None:
        self._drawn_at = self.clock()
        self.stream.write("\r\x1b[2K" + self.line())
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
            self.enabled = False

