"""Event-time alignment of the input stage's sources (streams/alignment.py)."""
from __future__ import annotations

from streams.alignment import SourceAlignment

PAY, POL, COMP = ("payment", 0), ("policy", 0), ("complaint", 0)
HOUR = 3600.0


def aligned(**kw) -> SourceAlignment:
    return SourceAlignment(max_lead_s=kw.pop("max_lead_s", HOUR), max_pause_s=kw.pop("max_pause_s", 30.0))


def test_a_source_running_ahead_of_the_slowest_busy_one_is_paused_until_it_catches_up_halfway():
    align = aligned()
    align.handled(PAY, 10, 5 * HOUR)
    align.handled(POL, 10, 1 * HOUR)
    assert align.decide([PAY, POL], now=0.0) == ({PAY}, set())
    assert align.decide([PAY, POL], now=1.0) == (set(), set())  # still paused: nothing new to do
    align.handled(POL, 20, 4 * HOUR)  # 1 hour behind: more than half the lead
    assert align.decide([PAY, POL], now=2.0) == (set(), set())
    align.handled(POL, 30, 4.6 * HOUR)
    assert align.decide([PAY, POL], now=3.0) == (set(), {PAY})
    assert align.paused == {}


def test_the_slowest_source_and_idle_sources_are_never_paused():
    align = aligned()
    align.handled(PAY, 10, 50 * HOUR)
    align.handled(POL, 10, 1 * HOUR)
    align.handled(COMP, 10, 2 * HOUR)
    # The complaint source is idle (nothing left to read): it holds nothing back.
    assert align.decide([PAY, POL], now=0.0) == ({PAY}, set())
    # The policy source goes idle too: the payment source is the only busy one and reads on.
    assert align.decide([PAY], now=1.0) == (set(), {PAY})


def test_a_busy_source_with_no_event_read_yet_holds_the_others():
    """Its events may be the oldest of all: the others wait until it has handled one."""
    align = aligned()
    align.handled(PAY, 10, 5 * HOUR)
    assert align.decide([PAY, POL], now=0.0) == ({PAY}, set())
    align.handled(POL, 0, 5 * HOUR)
    assert align.decide([PAY, POL], now=1.0) == (set(), {PAY})


def test_the_latest_event_counts_not_the_newest():
    """One event from far in the future does not keep its source ahead once it reads on."""
    align = aligned()
    align.handled(PAY, 10, 23 * HOUR)
    align.handled(PAY, 11, 1 * HOUR)
    align.handled(POL, 10, 1 * HOUR)
    assert align.decide([PAY, POL], now=0.0) == (set(), set())


def test_a_source_paused_too_long_reads_on_until_its_next_message():
    align = aligned(max_pause_s=30.0)
    align.handled(PAY, 10, 24 * HOUR)  # a clock gone wrong
    align.handled(POL, 10, 1 * HOUR)
    assert align.decide([PAY, POL], now=0.0) == ({PAY}, set())
    assert align.decide([PAY, POL], now=29.0) == (set(), set())
    assert align.decide([PAY, POL], now=30.0) == (set(), {PAY})
    assert align.decide([PAY, POL], now=31.0) == (set(), set())  # not paused again before it moves on
    align.handled(PAY, 11, 24 * HOUR)
    assert align.decide([PAY, POL], now=32.0) == ({PAY}, set())


def test_dead_letters_move_a_source_on_without_an_event_time():
    align = aligned(max_pause_s=30.0)
    align.handled(PAY, 10, 24 * HOUR)
    align.handled(POL, 10, 1 * HOUR)
    align.decide([PAY, POL], now=0.0)
    align.decide([PAY, POL], now=30.0)
    align.handled(PAY, 11, None)
    assert align.latest[PAY] == [24 * HOUR, 11] and PAY not in align.released


def test_a_rebalance_forgets_the_sources_that_left():
    align = aligned()
    align.handled(PAY, 10, 5 * HOUR)
    align.handled(POL, 10, 1 * HOUR)
    align.decide([PAY, POL], now=0.0)
    align.forget([PAY])
    assert align.paused == {} and PAY not in align.latest
    # A paused source no longer busy or assigned is resumed (the worker resumes only assigned ones).
    align.handled(PAY, 10, 5 * HOUR)
    align.decide([PAY, POL], now=1.0)
    assert align.decide([POL], now=2.0) == (set(), {PAY})
