"""Event schemas, version 1: one field table per stream, from which both the
validator (:mod:`streams.codec`) and the published JSON Schema files
(``streams/schemas/*.json``, written by ``python -m streams.schemas``) are made.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

SCHEMA_VERSION = 1
MAX_AMOUNT_CNY = 1e10
MAX_TEXT = 20_000
MAX_ID = 128
#: Most ids an ``id_list`` field may hold.
MAX_ID_LIST = 16

CHANNELS = ("cash", "bank_transfer", "card", "cheque", "mobile")
PRODUCT_CATEGORIES = ("protection", "health", "motor", "investment_linked", "long_term_savings", "annuity")
COMPLAINT_CATEGORIES = ("mis_selling", "claims_service", "service_attitude", "billing", "other")
CLAIM_TYPES = ("motor", "injury", "property", "health")
TIERS = ("low", "medium", "high", "critical")

#: Fields that carry personal data: accepted on input, dropped at decoding.
PERSONAL_FIELDS = ("customer_name", "customer_phone", "customer_id_number")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    kind: str  # "id", "text", "int", "amount", "enum", "currency", "id_list"
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    description: str = ""


ID = FieldSpec("id", description="identifier (no personal data)")
AMOUNT = FieldSpec("amount", minimum=0.0, maximum=MAX_AMOUNT_CNY, description="CNY, positive and finite")
LEVEL = FieldSpec("int", minimum=1, maximum=5, description="1 (lowest) to 5 (highest)")

_SALE = {
    "policy_id": ID, "customer_id": ID, "agent_id": ID, "branch_id": ID, "product_id": ID,
    "transcript": FieldSpec("text", description="recording transcript of the sale"),
    "premium": FieldSpec("amount", minimum=0.0, maximum=MAX_AMOUNT_CNY, description="annual premium, CNY"),
    "product_risk_level": LEVEL,
    "product_category": FieldSpec("enum", choices=PRODUCT_CATEGORIES),
    "term_years": FieldSpec("int", minimum=0, maximum=100),
    "customer_age": FieldSpec("int", minimum=0, maximum=120),
    "customer_income": FieldSpec("amount", minimum=0.0, maximum=MAX_AMOUNT_CNY, description="declared annual income, CNY"),
    "customer_risk_tolerance": LEVEL,
}
_POLICY_REF = {"policy_id": ID, "customer_id": ID, "agent_id": ID, "branch_id": ID}
_PAYMENT = {
    "policy_id": ID, "customer_id": ID, "payer_account_id": ID, "payee_account_id": ID,
    "amount": AMOUNT, "currency": FieldSpec("currency", description="ISO 4217 code"),
    "channel": FieldSpec("enum", choices=CHANNELS),
}
_CLAIM = {"policy_id": ID, "customer_id": ID, "claim_id": ID,
          "region": FieldSpec("id", description="claims-handling region, e.g. a province code"),
          "claim_type": FieldSpec("enum", choices=CLAIM_TYPES)}
_CLAIM_AMOUNT = FieldSpec("amount", minimum=0.0, maximum=MAX_AMOUNT_CNY, description="claimed or settled amount, CNY")
_COMPLAINT = {"complaint_id": ID, "customer_id": ID, "agent_id": ID, "branch_id": ID,
              "category": FieldSpec("enum", choices=COMPLAINT_CATEGORIES)}

#: stream -> event_type -> required fields
REQUIRED: dict[str, dict[str, dict[str, FieldSpec]]] = {
    "policy": {
        "sale_recorded": _SALE,
        "policy_issued": {**_POLICY_REF, "product_id": ID},
        "callback_completed": _POLICY_REF,
        "callback_failed": _POLICY_REF,
        "cooling_off_cancelled": {**_POLICY_REF, "amount": AMOUNT},
        "surrendered": {**_POLICY_REF, "amount": AMOUNT},
        "claim_reported": {**_CLAIM, "amount": _CLAIM_AMOUNT},
        "claim_contacted": _CLAIM,
        "claim_settled": {**_CLAIM, "amount": _CLAIM_AMOUNT},
    },
    "payment": {t: _PAYMENT for t in ("premium_paid", "refund", "surrender_payout", "claim_payout")},
    "complaint": {"complaint_filed": _COMPLAINT, "complaint_resolved": {"complaint_id": ID, "customer_id": ID},
                  # An investigator confirmed an alert on this agent (fed back by the alert lifecycle).
                  # (agent_id, branch_id, tier and alert_id optional: the branch accountability rule counts
                  # confirmed critical findings per branch, whatever their entity.)
                  "alert_confirmed": {"typology": FieldSpec("id", description="typology confirmed")}},
}

#: event_type -> stream (event types are unique across the three streams)
STREAM_OF_EVENT_TYPE: dict[str, str] = {t: stream for stream, types in REQUIRED.items() for t in types}

#: Fields any event may carry; validated when present.
OPTIONAL: dict[str, FieldSpec] = {
    "policy_id": ID, "customer_id": ID, "agent_id": ID, "branch_id": ID, "partner_id": ID, "product_id": ID,
    "callback_reason": FieldSpec("text"), "channel": FieldSpec("enum", choices=CHANNELS),
    "category": FieldSpec("enum", choices=COMPLAINT_CATEGORIES),
    "policy_age_days": FieldSpec("int", minimum=0, maximum=36_500, description="days since the policy was issued"),
    "claim_id": ID, "region": ID, "claim_type": FieldSpec("enum", choices=CLAIM_TYPES),
    "deadline_hours": FieldSpec("amount", minimum=0.0, maximum=24 * 366,
                                description="complaint handling deadline set by the complaint system, hours after filing"),
    "commission_rate": FieldSpec("amount", minimum=0.0, maximum=1.0,
                                 description="commission a partner applied to the policy, share of premium"),
    "contract_commission_rate": FieldSpec("amount", minimum=0.0, maximum=1.0,
                                          description="commission rate in the partner's contract, share of premium"),
    "tier": FieldSpec("enum", choices=TIERS, description="tier of the alert an alert_confirmed confirms"),
    "alert_id": FieldSpec("id", description="the alert an alert_confirmed confirms"),
    "policyholder_account_id": FieldSpec("id", description="the policyholder's own bank account (policy record)"),
    "beneficiary_account_ids": FieldSpec("id_list", maximum=MAX_ID_LIST,
                                         description="bank accounts of the policy's named beneficiaries"),
    **{name: FieldSpec("text", description="personal data: dropped at decoding") for name in PERSONAL_FIELDS},
}


def _json_type(spec: FieldSpec) -> dict[str, Any]:
    if spec.kind == "id":
        return {"type": "string", "minLength": 1, "maxLength": MAX_ID}
    if spec.kind == "text":
        return {"type": "string", "maxLength": MAX_TEXT}
    if spec.kind == "currency":
        return {"type": "string", "pattern": "^[A-Z]{3}$"}
    if spec.kind == "enum":
        return {"type": "string", "enum": list(spec.choices)}
    if spec.kind == "id_list":
        return {"type": "array", "items": _json_type(ID), "maxItems": int(spec.maximum)}
    out: dict[str, Any] = {"type": "integer" if spec.kind == "int" else "number"}
    if spec.kind == "amount":
        out["exclusiveMinimum"] = spec.minimum
        out["maximum"] = spec.maximum
    else:
        out["minimum"] = spec.minimum
        out["maximum"] = spec.maximum
    return out


def json_schema(stream: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one stream's events."""
    variants = []
    for event_type, required in REQUIRED[stream].items():
        props = {name: {**_json_type(spec), **({"description": spec.description} if spec.description else {})}
                 for name, spec in {**OPTIONAL, **required}.items()}
        props["event_type"] = {"const": event_type}
        variants.append({
            "title": event_type,
            "properties": props,
            "required": ["schema_version", "event_id", "event_type", "event_time", *required],
        })
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://riskwatch.example/schemas/{stream}-event.v{SCHEMA_VERSION}.json",
        "title": f"riskwatch {stream} event, version {SCHEMA_VERSION}",
        "type": "object",
        "properties": {
            "schema_version": {"const": SCHEMA_VERSION},
            "event_id": _json_type(ID),
            "event_type": {"enum": list(REQUIRED[stream])},
            "event_time": {"type": "string", "format": "date-time",
                           "description": "ISO-8601 with a UTC offset; not more than a day ahead of the processing clock"},
        },
        "oneOf": variants,
    }


#: A partner registry record (``partner.registry``; also a line of a JSON-lines history file).
PARTNER_RECORD_TYPE = "partner"
#: Most status changes one partner record may list.
MAX_STATUS_CHANGES = 64
#: Longest status-change reason (a short note in the registry's words; no personal data).
MAX_REASON = 200


def partner_record_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a partner registry record (validated by
    :mod:`streams.partner_codec`; the model is :mod:`detectors.registry`)."""
    from detectors.registry import PARTNER_TYPES, STATUSES, TASK_TYPES

    time = {"type": "string", "format": "date-time", "description": "ISO-8601 with a UTC offset"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://riskwatch.example/schemas/partner-record.v{SCHEMA_VERSION}.json",
        "title": f"riskwatch partner registry record, version {SCHEMA_VERSION}",
        "description": "The partner's whole current record: a newer record of the same partner_id replaces it.",
        "type": "object",
        "required": ["schema_version", "record_type", "partner_id", "partner_type", "branch_id", "status_changes"],
        "properties": {
            "schema_version": {"const": SCHEMA_VERSION},
            "record_type": {"const": PARTNER_RECORD_TYPE},
            "partner_id": _json_type(ID),
            "partner_type": {"enum": list(PARTNER_TYPES)},
            "branch_id": _json_type(ID),
            "qualification_valid_until": {**time, "description": "business after this time is unqualified"},
            "contract": {
                "type": "object",
                "properties": {
                    "processing_time_targets_h": {
                        "type": "object", "propertyNames": {"enum": list(TASK_TYPES)},
                        "additionalProperties": {"type": "number", "exclusiveMinimum": 0, "maximum": 24 * 366},
                        "description": "task type -> contracted processing-time target, hours"},
                    "compliance_target": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                    "expected_monthly_volume": {"type": "integer", "minimum": 0, "maximum": 10_000_000},
                },
            },
            "status_changes": {
                "type": "array", "minItems": 1, "maxItems": MAX_STATUS_CHANGES,
                "items": {
                    "type": "object", "required": ["status", "reason", "effective_time"],
                    "properties": {"status": {"enum": list(STATUSES)},
                                   "reason": {"type": "string", "minLength": 1, "maxLength": MAX_REASON},
                                   "effective_time": time},
                },
            },
        },
    }


def partner_schema_path() -> Path:
    return Path(__file__).with_name("schemas") / f"partner-record.v{SCHEMA_VERSION}.json"


def schema_path(stream: str) -> Path:
    return Path(__file__).with_name("schemas") / f"{stream}-event.v{SCHEMA_VERSION}.json"


def render(stream: str) -> bytes:
    return _dump(json_schema(stream))


def _dump(schema: dict[str, Any]) -> bytes:
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


if __name__ == "__main__":  # python -m streams.schemas: rewrite the JSON Schema files
    for name in REQUIRED:
        schema_path(name).write_bytes(render(name))
        print(schema_path(name), file=sys.stderr)
    partner_schema_path().write_bytes(_dump(partner_record_schema()))
    print(partner_schema_path(), file=sys.stderr)
