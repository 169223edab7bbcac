"""What the peer comparisons (agents against their branch, partners against their type) share
besides the test itself (:func:`detectors.stats.peer_outlier`): the checks of their settings,
and the rolling window of their state.

Their state holds, per member (agent, partner), sorted lists ``"x"`` (counted) and ``"n"``
(exposure) of items that begin ``[time, event id, ...]``, and per member flagged in the window
``[window_start, until, high]``.

>>> members = {"A1": {"x": [[5.0, "e1"]], "n": [[1.0, "s1"], [9.0, "s2"]]}, "A2": {"x": [], "n": [[2.0, "s3"]]}}
>>> flags = {"A1": [5.0, 8.0, False]}
>>> evict(members, flags, horizon=4.0, now=9.0)
>>> members, flags
({'A1': {'x': [[5.0, 'e1']], 'n': [[9.0, 's2']]}}, {})
>>> flag(flags, "A1", high=False, first_time=5.0, event_time=9.0, window_s=30.0)
5.0
>>> flag(flags, "A1", high=False, first_time=5.0, event_time=10.0, window_s=30.0) is None  # flagged already
True
"""
from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Iterable

from detectors.base import Tier, earliest


def check_settings(config, prior_rates: Iterable[float]) -> None:
    """Raise ``ValueError`` unless ``config`` (a peer comparison's: ``window_s`` and the fields
    of :class:`detectors.stats.PeerTestSettings`, ``tier``, ``high_tier``) and its
    ``prior_rates`` make sense."""
    if config.window_s <= 0 or not 0 < config.high_p_value <= config.p_value < 1:
        raise ValueError("window_s must be positive and 0 < high_p_value <= p_value < 1")
    if config.min_events < 1 or config.min_exposure < 1 or config.min_rate_ratio < 1:
        raise ValueError("min_events and min_exposure must be at least 1, min_rate_ratio at least 1")
    if config.prior_weight <= 0 or config.concentration <= 0:
        raise ValueError("prior_weight and concentration must be positive")
    if not all(0 < rate < 1 for rate in prior_rates):
        raise ValueError("prior rates must be between 0 and 1")
    Tier(config.tier)
    Tier(config.high_tier)


def evict(members: dict[str, dict[str, list]], flags: dict[str, list], horizon: float, now: float) -> None:
    """Drop the items from before ``horizon``, members with none left, and flags that ran out by ``now``."""
    for member in list(members):
        record = members[member]
        _drop_before(record, horizon)
        if not record["n"] and not record["x"]:
            del members[member]
    expire_flags(flags, now)


def _drop_before(record: dict[str, list], horizon: float) -> None:
    """Drop a member's items from before ``horizon`` (each list is sorted by time)."""
    for name in ("n", "x"):
        items = record[name]
        if items and items[0][0] < horizon:
            record[name] = items[bisect.bisect_left(items, [horizon]):]


def expire_flags(flags: dict[str, list], now: float) -> None:
    """Drop the flags that ran out by ``now``."""
    for member in [m for m, until in flags.items() if until[1] < now]:
        del flags[member]


def oldest_items(members: dict[str, dict[str, list]]) -> list[list]:
    """A heap of ``[time of its oldest item, member]`` over ``members``: what
    :func:`evict_oldest` keeps up to date.

    >>> oldest_items({"A1": {"x": [[5.0, "e1"]], "n": [[1.0, "s1"]]}, "A2": {"x": [], "n": [[2.0, "s3"]]}})
    [[1.0, 'A1'], [2.0, 'A2']]
    """
    heap = [[_oldest(record), member] for member, record in members.items() if record["n"] or record["x"]]
    heapq.heapify(heap)
    return heap


def note_item(heap: list[list], members: dict[str, dict[str, list]], member: str, time: float) -> None:
    """An item at ``time`` was just added to ``member``: if it is now the member's oldest, the heap hears of it."""
    if _oldest(members[member]) == time:
        heapq.heappush(heap, [time, member])


def evict_oldest(members: dict[str, dict[str, list]], heap: list[list], horizon: float) -> None:
    """What :func:`evict` does to ``members``, through the heap of their oldest items
    (:func:`oldest_items`): only the members with something before ``horizon`` are
    looked at, so a group of many members pays for what expires, not for its size.
    Afterwards the heap's first entry is a member's true oldest item.

    >>> members = {"A1": {"x": [[5.0, "e1"]], "n": [[1.0, "s1"], [9.0, "s2"]]}, "A2": {"x": [], "n": [[2.0, "s3"]]}}
    >>> heap = oldest_items(members)
    >>> evict_oldest(members, heap, horizon=4.0)
    >>> members, heap
    ({'A1': {'x': [[5.0, 'e1']], 'n': [[9.0, 's2']]}}, [[5.0, 'A1']])
    """
    while heap:
        time, member = heap[0]
        record = members.get(member)
        # Stale: the member has gone, or its oldest item has an entry of its own.
        live = record is not None and _oldest(record) == time
        if live and time >= horizon:
            return  # not due: nothing older is left
        heapq.heappop(heap)
        if not live:
            continue
        _drop_before(record, horizon)
        if record["n"] or record["x"]:
            heapq.heappush(heap, [_oldest(record), member])
        else:
            del members[member]


def _oldest(record: dict[str, list]) -> float:
    return min(items[0][0] for items in (record["n"], record["x"]) if items)


def due(members: dict[str, dict[str, list]], flags: dict[str, list], window_s: float, latest: float) -> float:
    """When :func:`evict` at ``max(watermark, latest)`` next drops something (``Detector.due``)."""
    if any(not record["n"] and not record["x"] for record in members.values()):
        return -math.inf
    first = earliest((items[0][0] + window_s for record in members.values() for items in (record["n"], record["x"])
                      if items), (until[1] for until in flags.values()))
    return -math.inf if first < latest else first  # eviction runs at the latest event time at least


def flag(flags: dict[str, list], member: str, high: bool, first_time: float, event_time: float,
         window_s: float) -> float | None:
    """The window start of the alert on ``member`` that a significant test at ``event_time`` raises
    (``high``: below the high tier's p-value), flagging the member for ``window_s``; None when it
    is flagged already at that tier (a flagged member is raised to high once, in the same window)."""
    flagged = flags.get(member)
    if flagged:
        if not high or flagged[2]:
            return None
        flagged[2] = True
        return flagged[0]
    start = min(first_time, event_time)
    flags[member] = [start, event_time + window_s, high]
    return start
