"""One alert per episode, raised at most to a higher tier: bookkeeping shared by
detectors that flag an entity when a pattern shows within a window, and the
event ids behind a finding.

An episode spans ``[first, last]`` of event time. A flag is ``[anchor, end,
rank]``: the first time of the episode when it was flagged (which anchors the
alert id, so a later escalation reuses it), the latest time it has covered,
and the rank of the tier it was raised at (:attr:`detectors.base.Tier.rank`).
Flags are JSON-ready lists kept in the detector's state.

>>> flags = []
>>> claim(flags, 10.0, 20.0, 1)
[10.0, 20.0, 1]
>>> claim(flags, 15.0, 30.0, 1) is None  # the same episode, same tier: no new alert
True
>>> claim(flags, 15.0, 40.0, 2)  # raised: the same flag, so the same alert id
[10.0, 40.0, 2]
"""
from __future__ import annotations


def claim(flags: list, first: float, last: float, rank: int) -> list | None:
    """The flag to alert under for an episode over ``[first, last]`` at ``rank``.

    A new flag when no flagged episode overlaps; the overlapping flag raised to
    ``rank`` when that is higher than its own; ``None`` when it was already
    flagged at this rank or higher.
    """
    for flag in flags:
        if flag[0] <= last and first <= flag[1]:
            flag[1] = max(flag[1], last)
            if rank <= flag[2]:
                return None
            flag[2] = rank
            return flag
    flag = [first, last, rank]
    flags.append(flag)
    return flag


def forget(flags: list, horizon: float) -> list:
    """The flags whose episode reaches ``horizon`` or later."""
    return [f for f in flags if f[1] >= horizon]


def behind(event_ids: list[str], trigger_id: str) -> list[str]:
    """``event_ids`` with the triggering event's id last if it is not among them
    (a late event can trigger a finding about others).

    >>> behind(["e1", "e2"], "e2"), behind(["e1", "e2"], "e3")
    (['e1', 'e2'], ['e1', 'e2', 'e3'])
    """
    return event_ids if trigger_id in event_ids else [*event_ids, trigger_id]


def window_start(anchor: float, window_s: float) -> float:
    """``anchor`` bucketed to the window: the alert id's time."""
    return (anchor // window_s) * window_s
