"""Hostile messages for the input topics, as hypothesis strategies.

Shared by the codec's property tests (``tests/streams/test_codec_hostile.py``,
thousands of examples, no broker) and the integration test that sends a fixed,
bounded batch of them through a real worker
(``tests/integration/test_hostile_input.py``). Each strategy draws raw bytes as
a producer could send them; what the codec must make of them is decided by the
test, not here.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import orjson
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from builders import raw_event
from streams.schemas import OPTIONAL, REQUIRED, STREAM_OF_EVENT_TYPE

EVENT_TYPES = sorted(STREAM_OF_EVENT_TYPE)
KNOWN_FIELDS = {"schema_version", "event_id", "event_type", "event_time", *OPTIONAL,
                *(name for types in REQUIRED.values() for fields in types.values() for name in fields)}

#: Any JSON value, nested a few levels (orjson writes NaN and infinities as null).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


def valid_event(event_type: str, event_id: str = "e1") -> dict:
    return raw_event(event_type, event_id=event_id)


@st.composite
def truncated_json(draw) -> bytes:
    """A strict prefix of a valid event's bytes: never valid JSON."""
    whole = orjson.dumps(valid_event(draw(st.sampled_from(EVENT_TYPES))))
    return whole[:draw(st.integers(0, len(whole) - 1))]


@st.composite
def deeply_nested(draw) -> bytes:
    """Lists or objects nested up to 3,000 deep (orjson stops at 1,024), alone or as a field."""
    depth = draw(st.integers(1, 3000))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    nested = opener * depth + b"1" + closer * depth
    if draw(st.booleans()):
        return nested
    event = orjson.dumps(valid_event(draw(st.sampled_from(EVENT_TYPES))))
    return event[:-1] + b',"extra":' + nested + b"}"


@st.composite
def huge_string(draw) -> bytes:
    """A field (known or not) set to a string of up to 200,000 characters."""
    event = valid_event(draw(st.sampled_from(EVENT_TYPES)))
    name = draw(st.sampled_from(sorted(event) + ["transcript", "customer_name", "unknown_field"]))
    event[name] = draw(st.sampled_from(["x", "险", "\u0000", "😀"])) * draw(st.integers(10_000, 200_000))
    return orjson.dumps(event)


@st.composite
def wrong_type(draw) -> bytes:
    """One field of a valid event replaced by an arbitrary JSON value."""
    event = valid_event(draw(st.sampled_from(EVENT_TYPES)))
    event[draw(st.sampled_from(sorted(event)))] = draw(json_values)
    return orjson.dumps(event)


@st.composite
def non_finite_amount(draw) -> bytes:
    """A premium payment whose amount is a non-finite, huge, tiny or negative literal."""
    literal = draw(st.sampled_from([b"NaN", b"-NaN", b"Infinity", b"-Infinity", b"inf", b"1e400", b"-1e400",
                                    b"1e308", b"5e-324", b"0", b"-0.0", b"1e10", b"10000000000.000002",
                                    b'"NaN"', b'"Infinity"', b"null"]))
    event = orjson.dumps(valid_event("premium_paid"))
    return event.replace(b'"amount":45000.0', b'"amount":' + literal)


@st.composite
def unknown_fields(draw) -> bytes:
    """A valid event with extra fields riskwatch does not know (must be ignored)."""
    event = valid_event(draw(st.sampled_from(EVENT_TYPES)))
    extra = draw(st.dictionaries(st.text(min_size=1, max_size=12).filter(lambda k: k not in KNOWN_FIELDS),
                                 json_values, min_size=1, max_size=5))
    return orjson.dumps({**event, **extra})


#: Event times across the whole range datetime allows, with offsets of up to +-23:59.
event_times = st.builds(
    lambda moment, minutes: moment.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat(),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), st.integers(-1439, 1439))


@st.composite
def far_time(draw) -> bytes:
    """A valid event at any time from year 1 to 9999 (most are far in the past or future)."""
    return orjson.dumps({**valid_event(draw(st.sampled_from(EVENT_TYPES))), "event_time": draw(event_times)})


#: Every kind of hostile message, each a bytes strategy.
HOSTILE = {
    "random_bytes": st.binary(max_size=300),
    "random_json": json_values.map(orjson.dumps),
    "truncated_json": truncated_json(),
    "deeply_nested": deeply_nested(),
    "huge_string": huge_string(),
    "wrong_type": wrong_type(),
    "non_finite_amount": non_finite_amount(),
    "unknown_fields": unknown_fields(),
    "far_time": far_time(),
}
hostile_messages = st.one_of(*HOSTILE.values())


def draw_examples(strategy: st.SearchStrategy, count: int) -> list:
    """``count`` examples of ``strategy``, the same on every run (hypothesis
    derandomized): a fixed, bounded batch for a test that cannot afford thousands."""
    drawn: list = []

    @settings(max_examples=count, derandomize=True, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), deadline=None)
    @given(strategy)
    def collect(example) -> None:
        drawn.append(example)

    collect()
    return drawn[:count]


def classify(decode: Callable[[bytes], object], raw: bytes) -> str | None:
    """``None`` if ``decode`` accepts ``raw``, else the reason of its InvalidEvent."""
    from streams.codec import InvalidEvent

    try:
        decode(raw)
    except InvalidEvent as error:
        return error.reason
    return None
