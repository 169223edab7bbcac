"""Bytes to a validated :class:`~detectors.events.Event`, or one specific error.

The worker and ``replay`` both call :func:`decode_event`; a failure raises
:class:`InvalidEvent` whose ``reason`` is one of :data:`REASONS` (a bounded
set, safe as a metric label) and whose message names the field. Personal data
fields are checked and then dropped; where a name, phone number or ID-card
number also appears inside the transcript it is masked, so it cannot reach an
alert's quote.
"""
from __future__ import annotations

import math
from datetime import datetime

import orjson

from detectors.events import Event
from streams.schemas import (
    ID as ID_SPEC,
    MAX_ID,
    MAX_TEXT,
    OPTIONAL,
    PERSONAL_FIELDS,
    REQUIRED,
    SCHEMA_VERSION,
    STREAM_OF_EVENT_TYPE,
    FieldSpec,
)

REASONS = (
    "undecodable",
    "not_an_object",
    "unsupported_schema_version",
    "unknown_event_type",
    "missing_field",
    "wrong_type",
    "out_of_range",
    "bad_event_time",
    "future_event_time",
)
#: Event times before this are absurd (2000-01-01T00:00:00Z).
EARLIEST_EVENT_TIME = 946_684_800.0
REDACTED = "[redacted]"


class InvalidEvent(ValueError):
    """An event that cannot be processed; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, message: str) -> None:
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def parse_event_time(value: object) -> float:
    if not isinstance(value, str) or len(value) > 40:
        raise InvalidEvent("bad_event_time", "event_time must be an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidEvent("bad_event_time", f"event_time {value[:40]!r} is not ISO-8601") from None
    if parsed.tzinfo is None:
        raise InvalidEvent("bad_event_time", "event_time must carry a UTC offset (e.g. Z)")
    return parsed.timestamp()


def check_field(name: str, spec: FieldSpec, value: object) -> object:
    kind = spec.kind
    if kind == "id_list":
        if not isinstance(value, list):
            raise InvalidEvent("wrong_type", f"{name} must be a list of ids, got {type(value).__name__}")
        if len(value) > spec.maximum:
            raise InvalidEvent("out_of_range", f"{name} holds {len(value)} ids, at most {spec.maximum:g} allowed")
        return [check_field(f"{name}[{i}]", ID_SPEC, item) for i, item in enumerate(value)]
    if kind in ("id", "text", "enum", "currency"):
        if not isinstance(value, str):
            raise InvalidEvent("wrong_type", f"{name} must be a string, got {type(value).__name__}")
        if kind == "id" and not 0 < len(value) <= MAX_ID:
            raise InvalidEvent("out_of_range", f"{name} must be 1 to {MAX_ID} characters")
        if kind == "text" and len(value) > MAX_TEXT:
            raise InvalidEvent("out_of_range", f"{name} is longer than {MAX_TEXT} characters")
        if kind == "enum" and value not in spec.choices:
            raise InvalidEvent("out_of_range", f"{name} {value[:32]!r} is not one of {', '.join(spec.choices)}")
        if kind == "currency" and not (len(value) == 3 and value.isascii() and value.isupper() and value.isalpha()):
            raise InvalidEvent("out_of_range", f"{name} must be an ISO 4217 code such as CNY")
        return value
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidEvent("wrong_type", f"{name} must be an integer")
        if not spec.minimum <= value <= spec.maximum:
            raise InvalidEvent("out_of_range", f"{name}={value} is outside {spec.minimum:g}..{spec.maximum:g}")
        return value
    # amount
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise InvalidEvent("wrong_type", f"{name} must be a number")
    amount = float(value)
    if not math.isfinite(amount) or not spec.minimum < amount <= spec.maximum:
        raise InvalidEvent("out_of_range", f"{name}={value!r} must be positive, finite and at most {spec.maximum:g}")
    return amount


def decode_event(raw: bytes | str, stream: str | None, now: float, max_future_skew_s: float = 86_400.0) -> Event:
    """Decode and validate one message of ``stream`` against the processing clock ``now``.

    ``stream`` is the stream the message arrived on; ``None`` (a JSON-lines
    file holding all streams) takes it from the event type.
    """
    return event_from_object(load_object(raw, "an event"), stream, now, max_future_skew_s)


def load_object(raw: bytes | str, what: str) -> dict:
    """The JSON object in ``raw``, or :class:`InvalidEvent` (``undecodable``, ``not_an_object``)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent("undecodable", f"not valid UTF-8 JSON ({str(exc)[:80]})") from None
    if not isinstance(data, dict):
        raise InvalidEvent("not_an_object", f"{what} must be a JSON object, got {type(data).__name__}")
    return data


def event_from_object(data: dict, stream: str | None, now: float, max_future_skew_s: float = 86_400.0) -> Event:
    """:func:`decode_event` for an already parsed JSON object."""
    version = data.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise InvalidEvent("unsupported_schema_version", f"schema_version must be {SCHEMA_VERSION}, got {str(version)[:16]}")
    event_type = data.get("event_type")
    if stream is None:
        stream = STREAM_OF_EVENT_TYPE.get(event_type) if isinstance(event_type, str) else None
    required = REQUIRED[stream].get(event_type) if stream and isinstance(event_type, str) else None
    if required is None:
        raise InvalidEvent("unknown_event_type", f"event_type {str(event_type)[:40]!r} is not a {stream or 'known'} event")
    event_id = data.get("event_id")
    if event_id is None:
        raise InvalidEvent("missing_field", "event_id is missing")
    check_field("event_id", OPTIONAL["policy_id"], event_id)
    if "event_time" not in data:
        raise InvalidEvent("missing_field", "event_time is missing")
    time = parse_event_time(data["event_time"])
    if time < EARLIEST_EVENT_TIME:
        raise InvalidEvent("out_of_range", "event_time is before 2000-01-01")
    if time > now + max_future_skew_s:
        raise InvalidEvent("future_event_time", f"event_time is {time - now:.0f} s ahead of the processing clock")
    fields: dict[str, object] = {}
    for name, spec in required.items():
        value = data.get(name)
        if value is None:
            raise InvalidEvent("missing_field", f"{event_type} needs {name}")
        fields[name] = check_field(name, spec, value)
    for name, spec in OPTIONAL.items():
        if name not in fields and data.get(name) is not None:
            fields[name] = check_field(name, spec, data[name])
    personal = [fields.pop(name) for name in PERSONAL_FIELDS if name in fields]
    transcript = fields.get("transcript")
    if transcript and personal:
        for value in personal:
            if len(value) >= 2:
                transcript = transcript.replace(value, REDACTED)
        fields["transcript"] = transcript
    return Event(event_id=event_id, event_type=event_type, stream=stream, time=time, **fields)
