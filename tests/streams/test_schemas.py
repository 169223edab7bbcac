"""The published JSON Schema files and the codec say the same thing.

The committed ``streams/schemas/*.json`` must be exactly what
``streams.schemas.render`` makes (rewrite them with ``python -m
streams.schemas``), and an example of every event type built from each
schema's own ``required`` list must pass both the schema and the codec.
"""
from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from builders import T0, T0_ISO, VALID_FIELDS
from streams.codec import InvalidEvent, decode_event
from streams.schemas import REQUIRED, STREAM_OF_EVENT_TYPE, json_schema, render, schema_path

STREAMS = sorted(REQUIRED)


def schema_errors(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """The keywords of JSON Schema that our schemas use, checked strictly."""
    errors: list[str] = []
    kind = schema.get("type")
    if kind == "object" and not isinstance(value, dict):
        return [f"{path}: not an object"]
    if kind == "string" and not isinstance(value, str):
        return [f"{path}: not a string"]
    if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        return [f"{path}: not an integer"]
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return [f"{path}: not a number"]
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path}: not an array"]
        errors += [f"{path}: too many items"] if len(value) > schema.get("maxItems", len(value)) else []
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{path}[{i}]")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: not one of the enum")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            errors.append(f"{path}: length")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: pattern")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: below minimum")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: above maximum")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            errors.append(f"{path}: not above exclusiveMinimum")
    if isinstance(value, dict):
        errors += [f"{path}.{name}: required" for name in schema.get("required", ()) if name not in value]
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                errors += schema_errors(value[name], sub, f"{path}.{name}")
    if "oneOf" in schema:
        matching = [sub for sub in schema["oneOf"] if not schema_errors(value, sub, path)]
        if len(matching) != 1:
            errors.append(f"{path}: matches {len(matching)} of oneOf")
    return errors


def examples(stream: str) -> list[tuple[dict, dict]]:
    """(variant, example event) for every event type of ``stream``, built from
    the variant's ``required`` list and the hand-written valid values."""
    out = []
    for variant in json_schema(stream)["oneOf"]:
        event_type = variant["title"]
        event = {"schema_version": 1, "event_id": f"e-{event_type}", "event_type": event_type, "event_time": T0_ISO}
        event.update({name: VALID_FIELDS[name] for name in variant["required"] if name not in event})
        out.append((variant, event))
    return out


@pytest.mark.parametrize("stream", STREAMS)
def test_committed_schema_file_is_what_the_code_renders(stream):
    assert schema_path(stream).read_bytes() == render(stream), (
        f"{schema_path(stream)} is out of date: run python -m streams.schemas"
    )


def test_every_event_type_has_a_variant():
    titles = {variant["title"] for stream in STREAMS for variant in json_schema(stream)["oneOf"]}
    assert titles == set(STREAM_OF_EVENT_TYPE)


@pytest.mark.parametrize("stream", STREAMS)
def test_examples_pass_the_schema_and_the_codec(stream):
    schema = json_schema(stream)
    for _, event in examples(stream):
        assert schema_errors(event, schema) == [], event["event_type"]
        decoded = decode_event(orjson.dumps(event), stream, now=T0)
        assert (decoded.event_type, decoded.stream, decoded.time) == (event["event_type"], stream, T0)
        fields = {k: v for k, v in event.items() if k not in ("schema_version", "event_type", "event_time")}
        assert {k: getattr(decoded, k) for k in fields} == fields
        assert decode_event(orjson.dumps(event), None, now=T0) == decoded


@pytest.mark.parametrize("stream", STREAMS)
def test_schema_and_codec_agree_on_what_is_required(stream):
    schema = json_schema(stream)
    for variant, event in examples(stream):
        for name in variant["required"]:
            if name == "event_type":
                continue
            incomplete = {k: v for k, v in event.items() if k != name}
            assert schema_errors(incomplete, schema), f"schema accepts {event['event_type']} without {name}"
            with pytest.raises(InvalidEvent, match=name):
                decode_event(orjson.dumps(incomplete), stream, now=T0)


BAD_VALUES = [
    ("event_id", ""), ("event_id", "x" * 129), ("amount", 0), ("amount", -1.0), ("amount", 1e11), ("amount", True),
    ("currency", "cny"), ("channel", "bitcoin"), ("product_risk_level", 0), ("product_risk_level", 6),
    ("product_risk_level", 2.5), ("customer_age", 121), ("category", "spam"), ("transcript", "x" * 20_001),
    ("partner_id", ""), ("schema_version", 2), ("beneficiary_account_ids", "ACC2"),
    ("beneficiary_account_ids", [""]), ("beneficiary_account_ids", ["A"] * 17),
]


@pytest.mark.parametrize("name, bad", BAD_VALUES, ids=[f"{n}={str(v)[:8]}" for n, v in BAD_VALUES])
def test_schema_and_codec_reject_the_same_values(name, bad):
    checked = 0
    for stream in STREAMS:
        schema = json_schema(stream)
        for variant, event in examples(stream):
            if name not in variant["properties"] and name not in schema["properties"]:
                continue
            broken = {**event, name: bad}
            assert schema_errors(broken, schema), f"schema accepts {name}={bad!r} in {event['event_type']}"
            with pytest.raises(InvalidEvent):
                decode_event(orjson.dumps(broken), stream, now=T0)
            checked += 1
    assert checked
