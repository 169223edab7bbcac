"""Acknowledgements reach faust in offset order only (streams/acks.py), and why."""
from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

from intervaltree import IntervalTree

from streams.acks import InOrderAcks


def test_a_finished_message_waits_for_every_earlier_one():
    acks = InOrderAcks()
    for offset in (10, 11, 12, 13):
        acks.arrived(offset, f"m{offset}")
    assert acks.finished(11) == []  # a mark, finished at once, behind a held event
    assert acks.finished(13) == []
    assert acks.finished(10) == ["m10", "m11"]
    assert acks.finished(12) == ["m12", "m13"]
    assert len(acks) == 0


def test_an_unknown_or_repeated_offset_releases_nothing():
    acks = InOrderAcks()
    acks.arrived(5, "m5")
    assert acks.finished(4) == []
    assert acks.finished(5) == ["m5"]
    assert acks.finished(5) == []


def test_a_message_read_twice_while_waiting_does_not_block_the_partition():
    acks = InOrderAcks()
    acks.arrived(7, "m7 first read")
    acks.arrived(8, "m8")
    acks.arrived(7, "m7 read again")
    assert acks.finished(7) == ["m7 read again"]
    assert acks.finished(8) == ["m8"]
    assert len(acks) == 0


def _faust_new_offset(acked: list[int], committed: int | None) -> int | None:
    """faust's own ``Consumer._new_offset`` on its own bookkeeping structures."""
    from faust.transport.consumer import Consumer

    tp = ("keyed", 0)
    state = SimpleNamespace(_acked=defaultdict(list, {tp: list(acked)}), _gap=defaultdict(IntervalTree),
                            _committed_offset=defaultdict(lambda: None, {tp: committed}),
                            _acked_index=defaultdict(set, {tp: set(acked)}))
    return Consumer._new_offset(state, tp)


def test_faust_commits_over_unacknowledged_messages_at_the_head():
    # Why streams/acks.py exists. Offsets 0-2 held (unacknowledged), 3 acknowledged:
    # with nothing committed yet, faust would commit 4, past the held messages.
    assert _faust_new_offset([3], committed=None) == 4
    # Committed 10 (10 is the next to read), 10 held, 11 acknowledged: faust commits 12.
    assert _faust_new_offset([11], committed=10) == 12
    # In offset order, as InOrderAcks hands them over, the commit is right.
    assert _faust_new_offset([10, 11], committed=10) == 12
