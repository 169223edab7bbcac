"""Bytes to a validated event, or one specific error naming the field."""
from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from builders import T0, T0_ISO, raw_event
from detectors.banned_phrases import BannedPhraseConfig, BannedPhraseDetector
from detectors.registry import PartnerStanding
from streams.codec import REASONS, REDACTED, InvalidEvent, decode_event
from streams.schemas import MAX_ID, MAX_TEXT, PERSONAL_FIELDS

NOW = T0  # the processing clock in these tests


def decode(raw, stream="payment", now=NOW, **kwargs):
    data = raw if isinstance(raw, (bytes, str)) else orjson.dumps(raw)
    return decode_event(data, stream, now, **kwargs)


def payment_bytes_with(amount_literal: bytes) -> bytes:
    """A premium payment whose amount is written as ``amount_literal``."""
    return orjson.dumps(raw_event("premium_paid")).replace(b"45000.0", amount_literal)


def without(event: dict, name: str) -> dict:
    return {k: v for k, v in event.items() if k != name}


# (case id, message, stream, reason, text the message must contain)
INVALID = [
    ("not json", b"{not json", "payment", "undecodable", "not valid UTF-8 JSON"),
    ("not utf-8", b'{"a": "\xff"}', "payment", "undecodable", "not valid UTF-8 JSON"),
    ("NaN", payment_bytes_with(b"NaN"), "payment", "undecodable", "JSON"),
    ("Infinity", payment_bytes_with(b"Infinity"), "payment", "undecodable", "JSON"),
    ("1e400", payment_bytes_with(b"1e400"), "payment", "undecodable", "JSON"),
    ("array", b"[1, 2]", "payment", "not_an_object", "got list"),
    ("string", b'"premium_paid"', "payment", "not_an_object", "got str"),
    ("null", b"null", "payment", "not_an_object", "got NoneType"),
    ("no version", without(raw_event("premium_paid"), "schema_version"), "payment",
     "unsupported_schema_version", "schema_version must be 1"),
    ("version 2", raw_event("premium_paid", schema_version=2), "payment", "unsupported_schema_version", "got 2"),
    ("version '1'", raw_event("premium_paid", schema_version="1"), "payment", "unsupported_schema_version", "got 1"),
    ("version true", raw_event("premium_paid", schema_version=True), "payment", "unsupported_schema_version", "True"),
    ("unknown type", raw_event("premium_paid", event_type="rocket_launched"), "payment",
     "unknown_event_type", "'rocket_launched' is not a payment event"),
    ("other stream's type", raw_event("premium_paid"), "policy", "unknown_event_type", "is not a policy event"),
    ("no type", without(raw_event("premium_paid"), "event_type"), "payment", "unknown_event_type", "None"),
    ("type not a string", raw_event("premium_paid", event_type=7), None, "unknown_event_type", "not a known event"),
    ("no event_id", without(raw_event("premium_paid"), "event_id"), "payment", "missing_field", "event_id is missing"),
    ("no event_time", without(raw_event("premium_paid"), "event_time"), "payment", "missing_field", "event_time"),
    ("no amount", without(raw_event("premium_paid"), "amount"), "payment", "missing_field", "premium_paid needs amount"),
    ("null amount", raw_event("premium_paid", amount=None), "payment", "missing_field", "needs amount"),
    ("no transcript", without(raw_event("sale_recorded"), "transcript"), "policy", "missing_field", "needs transcript"),
    ("event_id a number", raw_event("premium_paid", event_id=123), "payment", "wrong_type", "event_id must be a string"),
    ("amount a string", raw_event("premium_paid", amount="45000"), "payment", "wrong_type", "amount must be a number"),
    ("amount a bool", raw_event("premium_paid", amount=True), "payment", "wrong_type", "amount must be a number"),
    ("level a bool", raw_event("sale_recorded", product_risk_level=True), "policy", "wrong_type",
     "product_risk_level must be an integer"),
    ("level a float", raw_event("sale_recorded", product_risk_level=3.0), "policy", "wrong_type",
     "product_risk_level must be an integer"),
    ("optional id a number", raw_event("premium_paid", partner_id=7), "payment", "wrong_type", "partner_id"),
    ("empty id", raw_event("premium_paid", event_id=""), "payment", "out_of_range", f"1 to {MAX_ID}"),
    ("long id", raw_event("premium_paid", payer_account_id="A" * (MAX_ID + 1)), "payment", "out_of_range",
     "payer_account_id must be 1 to 128"),
    ("long transcript", raw_event("sale_recorded", transcript="x" * (MAX_TEXT + 1)), "policy", "out_of_range",
     "transcript is longer than 20000"),
    ("zero amount", raw_event("premium_paid", amount=0), "payment", "out_of_range", "amount=0"),
    ("negative amount", raw_event("premium_paid", amount=-5.0), "payment", "out_of_range", "positive"),
    ("huge amount", raw_event("premium_paid", amount=1e11), "payment", "out_of_range", "at most 1e+10"),
    ("level 6", raw_event("sale_recorded", product_risk_level=6), "policy", "out_of_range", "outside 1..5"),
    ("age 121", raw_event("sale_recorded", customer_age=121), "policy", "out_of_range", "customer_age=121"),
    ("channel", raw_event("premium_paid", channel="bitcoin"), "payment", "out_of_range", "'bitcoin' is not one of"),
    ("optional enum", raw_event("premium_paid", category="spam"), "payment", "out_of_range", "category"),
    ("currency lower case", raw_event("premium_paid", currency="cny"), "payment", "out_of_range", "ISO 4217"),
    ("currency 4 letters", raw_event("premium_paid", currency="CNYY"), "payment", "out_of_range", "ISO 4217"),
    ("before 2000", raw_event("premium_paid", event_time="1999-12-31T23:59:59Z"), "payment", "out_of_range",
     "before 2000-01-01"),
    ("time not ISO", raw_event("premium_paid", event_time="yesterday"), "payment", "bad_event_time",
     "'yesterday' is not ISO-8601"),
    ("time without offset", raw_event("premium_paid", event_time="2023-11-19T00:00:00"), "payment",
     "bad_event_time", "UTC offset"),
    ("time a number", raw_event("premium_paid", event_time=T0), "payment", "bad_event_time", "ISO-8601 string"),
    ("time too long", raw_event("premium_paid", event_time=T0_ISO + " " * 30), "payment", "bad_event_time",
     "ISO-8601 string"),
    ("a day and a second ahead", raw_event("premium_paid", event_time="2023-11-20T00:00:01Z"), "payment",
     "future_event_time", "86401 s ahead"),
    ("id list a string", raw_event("policy_issued", beneficiary_account_ids="ACC2"), "policy", "wrong_type",
     "beneficiary_account_ids must be a list of ids, got str"),
    ("id list of numbers", raw_event("policy_issued", beneficiary_account_ids=["ACC2", 7]), "policy", "wrong_type",
     "beneficiary_account_ids[1] must be a string"),
    ("id list with an empty id", raw_event("policy_issued", beneficiary_account_ids=[""]), "policy", "out_of_range",
     "beneficiary_account_ids[0] must be 1 to 128"),
    ("id list too long", raw_event("policy_issued", beneficiary_account_ids=[f"A{i}" for i in range(17)]), "policy",
     "out_of_range", "holds 17 ids, at most 16"),
]


@pytest.mark.parametrize("raw, stream, reason, text", [case[1:] for case in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_events_raise_one_reason_naming_the_field(raw, stream, reason, text):
    with pytest.raises(InvalidEvent) as info:
        decode(raw, stream)
    assert info.value.reason == reason
    assert str(info.value).startswith(f"{reason}: ")
    assert text in str(info.value)


def test_every_reason_is_produced_by_some_input():
    assert {case[3] for case in INVALID} == set(REASONS)


def test_a_valid_payment_decodes_to_an_event():
    event = decode(raw_event("premium_paid", partner_id="PT1", extra_field="ignored"))
    assert event.to_dict() == {
        "event_id": "e1", "event_type": "premium_paid", "stream": "payment", "time": T0,
        "policy_id": "P1", "customer_id": "C1", "partner_id": "PT1", "amount": 45_000.0, "currency": "CNY",
        "channel": "cash", "payer_account_id": "ACC1", "payee_account_id": "INSURER",
    }


def test_integer_amounts_become_floats():
    assert decode(raw_event("premium_paid", amount=45_000)).amount == 45_000.0


def test_accepts_str_as_well_as_bytes():
    assert decode(orjson.dumps(raw_event("premium_paid")).decode()).event_id == "e1"


def test_without_a_stream_the_event_type_decides():
    assert decode(raw_event("complaint_filed"), stream=None).stream == "complaint"
    assert decode(raw_event("sale_recorded"), stream=None).stream == "policy"


@pytest.mark.parametrize(
    "event_time, seconds",
    [
        (T0_ISO, T0),
        ("2023-11-19T00:00:00+00:00", T0),
        ("2023-11-19T08:00:00+08:00", T0),
        ("2023-11-18T19:00:00-05:00", T0),
        ("2023-11-18T23:00:00.250Z", T0 - 3600 + 0.25),
    ],
)
def test_event_time_with_an_offset_is_utc_epoch_seconds(event_time, seconds):
    assert decode(raw_event("premium_paid", event_time=event_time)).time == seconds


def test_future_skew_limit():
    a_day_ahead = raw_event("premium_paid", event_time="2023-11-20T00:00:00Z")
    assert decode(a_day_ahead).time == T0 + 86_400  # exactly the limit: accepted
    with pytest.raises(InvalidEvent, match="future_event_time"):
        decode(a_day_ahead, max_future_skew_s=3600.0)
    assert decode(a_day_ahead, now=T0 + 1).time == T0 + 86_400


def test_personal_data_is_dropped():
    raw = raw_event("premium_paid", customer_name="张伟", customer_phone="13800138000",
                    customer_id_number="11010519491231002X")
    event = decode(raw)
    assert not set(event.to_dict()) & set(PERSONAL_FIELDS)
    assert "张伟" not in repr(event) and "13800138000" not in repr(event)


def test_personal_data_is_masked_in_the_transcript():
    transcript = "张伟先生您好，核对一下您的电话13800138000和身份证11010519491231002X。"
    raw = raw_event("sale_recorded", transcript=transcript, customer_name="张伟",
                    customer_phone="13800138000", customer_id_number="11010519491231002X")
    event = decode(raw, "policy")
    assert event.transcript == f"{REDACTED}先生您好，核对一下您的电话{REDACTED}和身份证{REDACTED}。"


def test_a_one_character_name_is_dropped_but_not_masked():
    # Masking every occurrence of one character would garble the transcript.
    event = decode(raw_event("sale_recorded", transcript="王先生您好", customer_name="王"), "policy")
    assert event.transcript == "王先生您好"


def test_a_banned_phrase_alert_never_quotes_the_customer():
    raw = raw_event("sale_recorded", transcript="张伟您好，这款产品保本保息，电话13800138000",
                    customer_name="张伟", customer_phone="13800138000")
    detector = BannedPhraseDetector(BannedPhraseConfig())
    _, [finding] = detector.observe(decode(raw, "policy"), None)
    # The transcript reached the detector as "[redacted]您好，这款产品保本保息，电话[redacted]";
    # 12 characters either side of the phrase cut into both masks.
    assert finding.evidence["quote"] == "cted]您好，这款产品保本保息，电话[redacted"
    assert "张伟" not in str(finding) and "13800138000" not in str(finding)


@pytest.mark.parametrize(
    "field, value",
    [("customer_name", 12345), ("customer_phone", "1" * (MAX_TEXT + 1)), ("customer_id_number", ["110105"])],
)
def test_errors_about_personal_data_do_not_repeat_it(field, value):
    with pytest.raises(InvalidEvent) as info:
        decode(raw_event("premium_paid", **{field: value}))
    assert field in str(info.value)
    assert "12345" not in str(info.value) and "11111" not in str(info.value) and "110105" not in str(info.value)


def test_policy_facts_decode_and_survive_forwarding():
    raw = raw_event("policy_issued", policyholder_account_id="ACC1", beneficiary_account_ids=["ACC2", "ACC3"])
    event = decode(raw, "policy")
    assert (event.policyholder_account_id, event.beneficiary_account_ids) == ("ACC1", ["ACC2", "ACC3"])
    forwarded = orjson.loads(orjson.dumps(event.to_dict()))  # as the keyed topic carries it
    assert type(event).from_trusted_dict(forwarded) == event
    assert decode(raw_event("policy_issued", beneficiary_account_ids=[]), "policy").beneficiary_account_ids == []


def test_the_partner_standing_survives_forwarding():
    event = replace(decode(raw_event("premium_paid", partner_id="PT1"), "payment"),
                    partner=PartnerStanding("broker", "B1", "suspended", "audit", 1.7e9, None, {"callbacks": 3600.0}))
    forwarded = orjson.loads(orjson.dumps(event.to_dict()))
    assert forwarded["partner"]["status"] == "suspended" and None not in forwarded.values()
    assert type(event).from_trusted_dict(forwarded) == event
