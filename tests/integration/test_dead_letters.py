"""Bad input goes to <topic>.dlq with its reason; good events around it still alert."""
from __future__ import annotations

import time

import orjson
import pytest
from kafka import KafkaProducer


from detectors.config import DetectorConfig
from streams.codec import decode_event
from services import wait_until
from streams.engine import RiskEngine

pytestmark = pytest.mark.integration


def _payment(i: int, hour: int, **overrides) -> dict:
    event = {"schema_version": 1, "event_id": f"pay-{i}", "event_type": "premium_paid",
             "event_time": f"2026-01-05T{hour:02d}:00:00Z", "policy_id": "P-S1", "customer_id": "C-S1",
             "payer_account_id": "ACC-S1", "payee_account_id": "ACC-INSURER", "amount": 46_000 + i,
             "currency": "CNY", "channel": "cash"}
    event.update(overrides)
    return event


def _sale(transcript: str) -> dict:
    return {"schema_version": 1, "event_id": "sale-1", "event_type": "sale_recorded",
            "event_time": "2026-01-05T09:30:00Z", "policy_id": "P-B1", "customer_id": "C-B1", "agent_id": "A-B1",
            "branch_id": "BR-1", "product_id": "PR-1", "transcript": transcript, "premium": 12_000,
            "product_risk_level": 3, "product_category": "investment_linked", "term_years": 10,
            "customer_age": 45, "customer_income": 300_000, "customer_risk_tolerance": 3,
            "customer_name": "Li Lei", "customer_phone": "13800001234", "customer_id_number": "110101198001010011"}


def _complaint(i: int) -> dict:
    return {"schema_version": 1, "event_id": f"cmp-{i}", "event_type": "complaint_filed",
            "event_time": f"2026-01-05T1{i}:00:00Z", "complaint_id": f"K-{i}", "customer_id": f"C-K{i}",
            "agent_id": "A-K1", "branch_id": "BR-2", "category": "mis_selling"}


# (stream, raw bytes, expected reason)
BAD = [
    ("payment", b"\xff\xfe not json", "undecodable"),
    ("payment", b'{"schema_version": 1, "event_id": "x"', "undecodable"),
    ("policy", b"[1, 2, 3]", "not_an_object"),
    ("policy", orjson.dumps({**_sale("fine"), "schema_version": 7}), "unsupported_schema_version"),
    ("complaint", orjson.dumps({**_complaint(1), "event_type": "complaint_exploded"}), "unknown_event_type"),
    ("payment", orjson.dumps({k: v for k, v in _payment(9, 1).items() if k != "amount"}), "missing_field"),
    ("payment", orjson.dumps(_payment(9, 1, amount="lots")), "wrong_type"),
    ("payment", orjson.dumps(_payment(9, 1, amount=-500)), "out_of_range"),
    ("complaint", orjson.dumps({**_complaint(2), "event_time": "yesterday"}), "bad_event_time"),
    ("policy", orjson.dumps({**_sale("fine"), "event_time": "2099-01-01T00:00:00Z"}), "future_event_time"),
]


def test_bad_input_is_dead_lettered_and_good_events_still_alert(system):
    topics = system.settings.topics.inputs
    good = [("payment", _payment(0, 1)), ("payment", _payment(1, 5)), ("payment", _payment(2, 9)),
            ("policy", _sale("Li Lei您好，这款产品稳赚不赔，收益很高")),
            *[("complaint", _complaint(i)) for i in range(4)]]
    producer = KafkaProducer(bootstrap_servers=system.settings.bootstrap_servers)
    # Interleave: every bad message sits between good ones on the same topics.
    for index, (stream, raw, _reason) in enumerate(BAD):
        producer.send(topics[stream], key=b"k", value=raw)
        if index < len(good):
            stream_g, event = good[index]
            producer.send(topics[stream_g], key=event.get("policy_id", "k").encode(), value=orjson.dumps(event))
    producer.flush()
    producer.close()

    engine = RiskEngine(DetectorConfig())
    keyed = sum(len(engine.routes(decode_event(orjson.dumps(e), None, time.time()))) for _s, e in good)
    system.wait_processed(consumed=len(good), rejected=len(BAD), keyed=keyed)

    for stream, topic in topics.items():
        expected = sorted(reason for s, _raw, reason in BAD if s == stream)
        records = system.read(system.settings.topics.dead_letter(topic), expected=len(expected))
        reasons = []
        for record in records:
            headers = {k: v.decode() for k, v in record.headers}
            assert headers["riskwatch-source-topic"] == topic
            assert int(headers["riskwatch-source-partition"]) >= 0
            assert int(headers["riskwatch-source-offset"]) >= 0
            assert headers["riskwatch-reason"] in headers["riskwatch-error"]
            assert record.value in {raw for s, raw, _ in BAD if s == stream}  # original bytes
            reasons.append(headers["riskwatch-reason"])
        assert sorted(reasons) == expected, stream

    # Four typologies alert (a mis-selling complaint too), and stateful ones wait for the
    # event-time watermark: wait for the three this test is about, however they arrive.
    wanted = {"structuring", "misleading_sales_phrase", "complaint_spike"}

    def all_wanted() -> list[dict] | None:
        found = system.alerts(idle_s=0.5)
        return found if wanted <= {a["typology"] for a in found} else None

    alerts = wait_until(all_wanted, 60, f"alerts of {sorted(wanted)}")
    by_typology = {a["typology"]: a for a in alerts}
    assert by_typology["structuring"]["entity_id"] == "ACC-S1"
    assert by_typology["complaint_spike"]["entity_id"] == "A-K1"
    sale_alert = by_typology["misleading_sales_phrase"]
    assert sale_alert["tier"] == "critical" and sale_alert["entity_id"] == "P-B1"
    text = orjson.dumps(alerts).decode()
    for personal in ("Li Lei", "13800001234", "110101198001010011"):
        assert personal not in text
