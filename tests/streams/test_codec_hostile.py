"""Hostile input at the codec (issue 9, test 4): whatever bytes arrive, ``decode_event``
returns a valid event or raises :class:`InvalidEvent` with one of the bounded reasons.
Any other exception would stop a worker's agent, so none may escape."""
from __future__ import annotations

import math

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import T0
from hostile import HOSTILE, draw_examples, hostile_messages, valid_event
from streams.codec import EARLIEST_EVENT_TIME, REASONS, InvalidEvent, decode_event
from streams.schemas import MAX_AMOUNT_CNY, PERSONAL_FIELDS

NOW = T0
#: orjson refuses documents nested deeper than this (measured: 1,024 parses, 1,025 does not).
ORJSON_MAX_DEPTH = 1024
SKEW = 86_400.0
# Huge strings and deep nesting make single examples slow-ish: no deadline, bounded sizes.
hostile_settings = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                                    HealthCheck.data_too_large])


def outcome(raw: bytes, stream: str | None) -> str | None:
    """``None`` when the message decodes, else the reason; fails on any other exception."""
    try:
        event = decode_event(raw, stream, NOW, SKEW)
    except InvalidEvent as error:
        assert error.reason in REASONS
        assert str(error).startswith(f"{error.reason}: ") and len(str(error)) < 400
        return error.reason
    assert EARLIEST_EVENT_TIME <= event.time <= NOW + SKEW and math.isfinite(event.time)
    assert stream is None or event.stream == stream
    assert not set(event.to_dict()) & set(PERSONAL_FIELDS)
    return None


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_every_kind_of_hostile_message_decodes_or_raises_a_bounded_reason(kind):
    @hostile_settings
    @given(raw=HOSTILE[kind], stream=st.sampled_from(["policy", "payment", "complaint", None]))
    def check(raw, stream):
        outcome(raw, stream)

    check()


@hostile_settings
@given(raw=hostile_messages)
def test_str_input_behaves_like_its_bytes(raw):
    # replay reads text lines; the worker bytes. Undecodable UTF-8 cannot become a str.
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return
    assert outcome(text, None) == outcome(raw, None)


@given(st.data())
@hostile_settings
def test_a_truncated_event_is_undecodable(data):
    raw = data.draw(HOSTILE["truncated_json"])
    assert outcome(raw, None) == "undecodable"


@hostile_settings
@given(raw=HOSTILE["deeply_nested"])
def test_deep_nesting_beyond_orjsons_limit_is_undecodable_and_within_it_harmless(raw):
    depth = raw.count(b"[") + raw.count(b"{")  # the nesting is the only source of brackets
    reason = outcome(raw, None)
    if depth > ORJSON_MAX_DEPTH:
        assert reason == "undecodable"
    else:
        assert reason in (None, "not_an_object", "unsupported_schema_version")


def test_non_finite_and_out_of_range_amounts_are_rejected():
    assert b'"amount":45000.0' in orjson.dumps(valid_event("premium_paid"))  # what the strategy rewrites
    accepted = {}
    for raw in draw_examples(HOSTILE["non_finite_amount"], 200):
        literal = raw.split(b'"amount":', 1)[1].split(b",", 1)[0]
        accepted[literal] = outcome(raw, "payment")
    assert accepted[b"NaN"] == accepted[b"Infinity"] == accepted[b"1e400"] == "undecodable"
    assert accepted[b'"NaN"'] == "wrong_type" and accepted[b"null"] == "missing_field"
    assert accepted[b"1e308"] == accepted[b"0"] == accepted[b"-0.0"] == "out_of_range"
    assert accepted[b"1e10"] is None and accepted[b"5e-324"] is None  # the bounds: (0, 1e10]
    assert accepted[b"10000000000.000002"] == "out_of_range"


@hostile_settings
@given(amount=st.floats(allow_nan=False, allow_infinity=False))
def test_an_amount_decodes_exactly_when_positive_and_at_most_the_maximum(amount):
    raw = orjson.dumps(valid_event("premium_paid")).replace(b"45000.0", repr(amount).encode())
    expected = None if 0 < amount <= MAX_AMOUNT_CNY else "out_of_range"
    assert outcome(raw, "payment") == expected


@hostile_settings
@given(raw=HOSTILE["unknown_fields"])
def test_unknown_fields_are_ignored(raw):
    data = orjson.loads(raw)
    known = valid_event(data["event_type"])
    assert decode_event(raw, None, NOW) == decode_event(orjson.dumps(known), None, NOW)


@hostile_settings
@given(raw=HOSTILE["far_time"])
def test_an_event_time_decodes_exactly_when_after_2000_and_within_the_skew(raw):
    from datetime import datetime

    moment = datetime.fromisoformat(orjson.loads(raw)["event_time"])
    try:
        seconds = moment.timestamp()
    except OverflowError:  # year 1 or 9999 shifted past datetime's range by the offset
        seconds = math.inf if moment.year > 5000 else -math.inf
    reason = outcome(raw, None)
    if seconds < EARLIEST_EVENT_TIME:
        assert reason == "out_of_range"
    elif seconds > NOW + SKEW:
        assert reason == "future_event_time"
    else:
        assert reason is None
