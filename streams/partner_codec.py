"""Bytes to a validated :class:`~detectors.registry.PartnerRecord`, or one specific error.

The schema is ``streams/schemas/partner-record.v1.json``
(:func:`streams.schemas.partner_record_schema`). A failure raises the codec's
:class:`~streams.codec.InvalidEvent`, whose ``reason`` is one of the codec's
bounded :data:`~streams.codec.REASONS`, so a bad registry record goes to
``partner.registry.dlq`` and is counted exactly like a bad event.

A JSON-lines history file may hold registry records among its events:
:func:`decode_history_line` tells them apart by ``record_type``.
"""
from __future__ import annotations

from detectors.events import Event
from detectors.registry import PARTNER_TYPES, STATUSES, TASK_TYPES, PartnerRecord, StatusChange
from streams.codec import InvalidEvent, check_field, event_from_object, load_object, parse_event_time
from streams.schemas import (
    ID,
    MAX_REASON,
    MAX_STATUS_CHANGES,
    PARTNER_RECORD_TYPE,
    SCHEMA_VERSION,
    FieldSpec,
)

_PARTNER_TYPE = FieldSpec("enum", choices=PARTNER_TYPES)
_STATUS = FieldSpec("enum", choices=STATUSES)
_TARGET_H = FieldSpec("amount", minimum=0.0, maximum=24 * 366)
_SHARE = FieldSpec("amount", minimum=0.0, maximum=1.0)
_VOLUME = FieldSpec("int", minimum=0, maximum=10_000_000)


def _time(name: str, value: object) -> float:
    try:
        return parse_event_time(value)
    except InvalidEvent as error:
        raise InvalidEvent("bad_event_time", f"{name}: {error.message.replace('event_time', name)}") from None


def _object(name: str, value: object) -> dict:
    if not isinstance(value, dict):
        raise InvalidEvent("wrong_type", f"{name} must be an object, got {type(value).__name__}")
    return value


def partner_record_from_object(data: dict) -> PartnerRecord:
    """Validate a parsed registry record; the status changes come back sorted by effective time."""
    version = data.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise InvalidEvent("unsupported_schema_version", f"schema_version must be {SCHEMA_VERSION}, got {str(version)[:16]}")
    if data.get("record_type") != PARTNER_RECORD_TYPE:
        raise InvalidEvent("unknown_event_type", f"record_type must be {PARTNER_RECORD_TYPE!r}")
    for name in ("partner_id", "partner_type", "branch_id", "status_changes"):
        if data.get(name) is None:
            raise InvalidEvent("missing_field", f"a partner record needs {name}")
    partner_id = check_field("partner_id", ID, data["partner_id"])
    partner_type = check_field("partner_type", _PARTNER_TYPE, data["partner_type"])
    branch_id = check_field("branch_id", ID, data["branch_id"])
    until = data.get("qualification_valid_until")
    until = None if until is None else _time("qualification_valid_until", until)
    contract = _object("contract", data.get("contract") or {})
    targets: dict[str, float] = {}
    for task, hours in _object("contract.processing_time_targets_h",
                               contract.get("processing_time_targets_h") or {}).items():
        if task not in TASK_TYPES:
            raise InvalidEvent("out_of_range", f"contract.processing_time_targets_h: {task[:32]!r} is not one of "
                                               f"{', '.join(TASK_TYPES)}")
        targets[task] = 3600.0 * check_field(f"contract.processing_time_targets_h.{task}", _TARGET_H, hours)
    compliance = contract.get("compliance_target")
    volume = contract.get("expected_monthly_volume")
    changes = data["status_changes"]
    if not isinstance(changes, list):
        raise InvalidEvent("wrong_type", "status_changes must be a list")
    if not 1 <= len(changes) <= MAX_STATUS_CHANGES:
        raise InvalidEvent("out_of_range", f"status_changes must hold 1 to {MAX_STATUS_CHANGES} changes")
    parsed = []
    for i, change in enumerate(changes):
        change = _object(f"status_changes[{i}]", change)
        for name in ("status", "reason", "effective_time"):
            if change.get(name) is None:
                raise InvalidEvent("missing_field", f"status_changes[{i}] needs {name}")
        reason = check_field(f"status_changes[{i}].reason", FieldSpec("text"), change["reason"])
        if not 0 < len(reason) <= MAX_REASON:
            raise InvalidEvent("out_of_range", f"status_changes[{i}].reason must be 1 to {MAX_REASON} characters")
        parsed.append(StatusChange(check_field(f"status_changes[{i}].status", _STATUS, change["status"]), reason,
                                   _time(f"status_changes[{i}].effective_time", change["effective_time"])))
    return PartnerRecord(
        partner_id=partner_id, partner_type=partner_type, branch_id=branch_id, qualification_valid_until=until,
        processing_targets_s=targets,
        compliance_target=None if compliance is None else check_field("contract.compliance_target", _SHARE,
                                                                      compliance),
        expected_monthly_volume=None if volume is None else check_field("contract.expected_monthly_volume",
                                                                        _VOLUME, volume),
        status_changes=tuple(sorted(parsed, key=lambda c: c.effective_time)))


def decode_partner_record(raw: bytes | str) -> PartnerRecord:
    """Decode and validate one ``partner.registry`` message."""
    return partner_record_from_object(load_object(raw, "a partner record"))


def decode_history_line(raw: bytes | str, now: float, max_future_skew_s: float = 86_400.0) -> Event | PartnerRecord:
    """One line of a JSON-lines history file: a registry record (it has ``record_type``) or an event."""
    data = load_object(raw, "a line")
    if "record_type" in data:
        return partner_record_from_object(data)
    return event_from_object(data, None, now, max_future_skew_s)
