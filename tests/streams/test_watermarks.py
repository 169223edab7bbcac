"""The worker's event-time bookkeeping (streams/watermarks.py), without a broker."""
from __future__ import annotations

import math

from streams.watermarks import (
    LowWatermark,
    ReorderBuffer,
    SourceMarks,
    SweepGrid,
    expected_sources,
    sweep_boundary,
)


def test_sweep_boundaries_are_hours_of_event_time():
    assert sweep_boundary(7199.0) == 3600.0
    assert sweep_boundary(7200.0) == 7200.0
    assert sweep_boundary(float("-inf")) == float("-inf")
    grid = SweepGrid()
    assert [grid.due(t) for t in (10.0, 3599.0, 3600.0, 3700.0, 11000.0, 9000.0)] == [
        0.0, None, 3600.0, None, 10800.0, None]


def test_sources_are_marked_with_what_was_handled_and_whether_anything_is_left():
    marks = SourceMarks()
    marks.handled(("policy", 0), 0, 100.0)
    marks.handled(("payment", 0), 4, 900.0)
    marks.handled(("payment", 0), 5, None)  # dead-lettered: moves the offset, not the time
    # policy:0 has 3 more messages; payment:0 is read to its end; complaint:0 is empty;
    # complaint:1's end is not known yet.
    out = marks.marks({("policy", 0): 4, ("payment", 0): 6, ("complaint", 0): 0, ("complaint", 1): None})
    assert out == {"policy:0": [100.0, False], "payment:0": [900.0, True], "complaint:0": [None, True]}


def test_the_low_watermark_waits_for_every_source_and_holds_idle_ones_to_what_was_heard():
    low = LowWatermark(expected_sources(["policy", "payment"], 2))
    assert low.expected == {"policy:0", "policy:1", "payment:0", "payment:1"}
    low.update({"policy:0": [50.0, False], "policy:1": [70.0, False], "payment:0": [60.0, True]}, sent_at=1.0)
    assert (low.release_to, low.value) == (-math.inf, -math.inf)  # payment:1 has not reported
    low.update({"payment:1": [None, True], "other:0": [1.0, False]}, sent_at=1.0)
    assert (low.release_to, low.value) == (50.0, 50.0)  # idle payment sources do not hold back
    low.update({"policy:0": [10.0, False]}, sent_at=1.5)  # an older mark (another worker's, say) is ignored
    assert low.value == 50.0
    low.update({"policy:0": [90.0, True], "policy:1": [70.0, True], "payment:0": [60.0, True],
                "payment:1": [None, True]}, sent_at=2.0)
    # Every source idle, each said so at 2.0: state advances to the newest time handled by then.
    assert (low.release_to, low.value) == (90.0, 90.0)


def test_an_idle_source_whose_reader_died_holds_back_at_what_was_heard_when_it_last_spoke():
    # Worker A reads policy:0 and policy:1, worker B payment:0 and payment:1; both keep up.
    low = LowWatermark(expected_sources(["policy", "payment"], 2))
    low.update({"policy:0": [100.0, True], "policy:1": [110.0, True]}, sent_at=10.0)
    low.update({"payment:0": [105.0, True], "payment:1": [None, True]}, sent_at=10.2)
    assert low.value == 110.0  # all idle: what had been handled anywhere by 10.0
    # B dies at 10.3, its payment sources marked idle at 10.2; payments made after that
    # wait on them, unread, while A goes on handling the policy events of the same hours.
    low.update({"policy:0": [500.0, True], "policy:1": [520.0, False]}, sent_at=10.5)
    low.update({"policy:0": [900.0, True], "policy:1": [950.0, True]}, sent_at=11.0)
    # B's idleness was the truth at 10.2, not after: the watermark stays at what had been
    # heard by then, so no timer fires over the unread payments.
    assert (low.release_to, low.value) == (110.0, 110.0)
    # A takes the payment sources over and reports them: B's word is replaced.
    low.update({"policy:0": [900.0, True], "policy:1": [950.0, True], "payment:0": [700.0, False],
                "payment:1": [None, True]}, sent_at=20.0)
    assert low.value == 700.0
    low.update({"policy:0": [900.0, True], "policy:1": [950.0, True], "payment:0": [940.0, True],
                "payment:1": [None, True]}, sent_at=20.5)
    assert low.value == 950.0


def test_marks_without_a_sent_at_count_as_sent_before_any_other():
    low = LowWatermark(expected_sources(["policy"], 2))
    # Workers of an older version: their idleness is trusted as far as their own marks go.
    low.update({"policy:0": [100.0, True], "policy:1": [80.0, True]})
    assert low.value == 100.0
    low.update({"policy:1": [300.0, False]}, sent_at=5.0)
    assert low.value == 100.0  # policy:0 said nothing since, and its word is older than any
    low.update({"policy:0": [100.0, True]}, sent_at=6.0)
    assert low.value == 300.0


def test_heard_marks_are_folded_once_no_source_can_ask_about_them():
    low = LowWatermark(expected_sources(["policy"], 2))
    for tick in range(1000):
        low.update({"policy:0": [float(tick), True]}, sent_at=float(tick))
        low.update({"policy:1": [float(tick), False]}, sent_at=tick + 0.25)
    assert len(low._heard) <= 2
    assert low.value == 999.0


def test_held_events_come_out_in_event_time_order():
    buffer = ReorderBuffer()
    for time, name in [(30.0, "c"), (10.0, "a"), (20.0, "b"), (10.0, "a2"), (50.0, "e")]:
        assert buffer.push(time, name) == []
    assert buffer.release(25.0) == ["a", "a2", "b"]  # ties in arrival order
    assert buffer.push(20.0, "late") == ["late"]  # behind the watermark: straight through
    assert buffer.release(20.0) == []
    assert buffer.release(60.0) == ["c", "e"]
    assert len(buffer) == 0


def test_releasing_everything_keeps_later_events_in_order():
    buffer = ReorderBuffer()
    buffer.push(30.0, "b")
    buffer.push(10.0, "a")
    assert buffer.release(math.inf) == ["a", "b"]
    assert buffer.push(20.0, "late") == ["late"]  # older than what went: no point holding it
    assert buffer.push(40.0, "c") == []  # newer: held for the next marks
    assert buffer.release(45.0) == ["c"]


def test_over_capacity_the_oldest_goes_early():
    buffer = ReorderBuffer(capacity=2)
    assert buffer.push(30.0, "c") == []
    assert buffer.push(10.0, "a") == []
    assert buffer.push(20.0, "b") == ["a"]
    assert buffer.release(100.0) == ["b", "c"]


def test_a_source_taken_over_with_nothing_left_to_read_is_idle():
    marks = SourceMarks()
    source = ("payment.events", 1)
    # Its previous owner handled and committed all 40 messages: this worker starts at 40.
    assert marks.marks({source: 40}) == {"payment.events:1": [None, False]}  # without a start: busy for ever
    marks.started_at(source, 40)
    assert marks.marks({source: 40}) == {"payment.events:1": [None, True]}
    marks.started_at(source, 7)  # a later start does not undo progress already known
    assert marks.marks({source: 40})["payment.events:1"][1] is True


def test_a_source_taken_over_with_messages_left_is_busy_until_they_are_handled():
    marks = SourceMarks()
    source = ("payment.events", 1)
    marks.started_at(source, 30)
    assert marks.marks({source: 40}) == {"payment.events:1": [None, False]}
    marks.handled(source, 39, 1000.0)
    assert marks.marks({source: 40}) == {"payment.events:1": [1000.0, True]}
