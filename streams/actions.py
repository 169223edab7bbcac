"""Actions on alerts from other services (topic ``risk.alert-actions``), decoded and validated.

Every action is keyed by, and carries, the alert's ``subject`` so it reaches
the partition holding that subject's alerts:

* ``{"action": "ack", "alert_id", "subject", "who", "at"}``
* ``{"action": "resolve", "alert_id", "subject", "who", "at", "disposition": "confirmed" | "false_positive"}``
* ``{"action": "suppress", "subject", "entity_type", "entity_id", "typology", "until", "reason", "who", "at"}``
* ``{"action": "scorecards", "who", "at"}``: publish every partner and branch scorecard held
  to ``risk.scorecards`` now (no subject: every partition answers)

``at`` and ``until`` are ISO-8601 times with an offset. A bad action raises
:class:`streams.codec.InvalidEvent` and goes to ``risk.alert-actions.dlq``.
"""
from __future__ import annotations

from typing import Any

import orjson

from streams.codec import InvalidEvent, parse_event_time

ACTIONS = {
    "ack": ("alert_id", "subject", "who", "at"),
    "resolve": ("alert_id", "subject", "who", "at", "disposition"),
    "suppress": ("subject", "entity_type", "entity_id", "typology", "until", "reason", "who", "at"),
    "scorecards": ("who", "at"),
}
DISPOSITIONS = ("confirmed", "false_positive")
_TIMES = ("at", "until")


def decode_action(raw: bytes | str) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent("undecodable", f"not valid UTF-8 JSON ({str(exc)[:80]})") from None
    if not isinstance(data, dict):
        raise InvalidEvent("not_an_object", "an action must be a JSON object")
    kind = data.get("action")
    if kind not in ACTIONS:
        raise InvalidEvent("unknown_event_type", f"action {str(kind)[:20]!r} is not one of {', '.join(ACTIONS)}")
    action: dict[str, Any] = {"action": kind}
    for name in ACTIONS[kind]:
        value = data.get(name)
        if value is None:
            raise InvalidEvent("missing_field", f"{kind} needs {name}")
        if not isinstance(value, str) or not 0 < len(value) <= 500:
            raise InvalidEvent("wrong_type", f"{name} must be a non-empty string of at most 500 characters")
        action[name] = parse_event_time(value) if name in _TIMES else value
    if kind == "resolve" and action["disposition"] not in DISPOSITIONS:
        raise InvalidEvent("out_of_range", f"disposition must be one of {', '.join(DISPOSITIONS)}")
    return action


def encode_action(action: dict[str, Any]) -> tuple[bytes, bytes]:
    """(key, value) of an action message, for tools and tests that send actions."""
    return action.get("subject", action["action"]).encode(), orjson.dumps(action)
