"""Hostile input through a real worker (issue 9, test 4): a fixed batch of hypothesis-drawn
hostile messages interleaved with a generated run and duplicates of its events. Every
message is counted exactly once, as consumed or dead-lettered with its reason, and the
alerts are exactly those replay raises from the messages that decode.

The same run checks that personal data stays out (issue 9, security): the generated
events carry customer names, phone numbers and ID-card numbers, and their sale
transcripts greet the customer by name; none of them may reach the alert, alert-state
or findings topics, the worker's log or its /metrics (labels included).

Sizes: 800 generated events (5 injected scenarios) and 60 hostile messages (among them
strings of up to 800 kB) keep the test near half a minute on 2 CPUs; the hostile kinds
are exercised by the thousands in ``tests/streams/test_codec_hostile.py``.
"""
from __future__ import annotations

import random
import time
import urllib.request
from collections import Counter

import orjson
import pytest
from kafka import KafkaProducer

from detectors.config import DetectorConfig
from hostile import classify, draw_examples, hostile_messages
from streams.codec import decode_event
from streams.engine import RiskEngine, run_events
from streams.generator import GeneratorConfig, generate
from streams.schemas import PERSONAL_FIELDS

pytestmark = pytest.mark.integration

HOSTILE_COUNT = 60
DUPLICATES = 40
SCENARIOS = {"structuring": 2, "complaint_spike": 1, "misleading_sales_phrase": 2}


def test_hostile_messages_are_counted_once_and_good_events_still_alert(system):
    rng = random.Random(909)
    generated, truth = generate(GeneratorConfig(seed=21, events=800, scenario_mix=SCENARIOS,
                                                customers=2000, agents=200))
    topics = system.settings.topics.inputs
    # (topic, stream, key, bytes) in the order they are produced: hostile messages at
    # random places among the good ones, and duplicates (same bytes, same event id)
    # of random good events somewhere after their original.
    messages = [(topics[g.stream], g.stream, g.key.encode(), orjson.dumps(g.event)) for g in generated]
    for raw in draw_examples(hostile_messages, HOSTILE_COUNT):
        stream = rng.choice(sorted(topics))
        messages.insert(rng.randrange(len(messages) + 1), (topics[stream], stream, b"hostile", raw))
    for _ in range(DUPLICATES):
        original = rng.randrange(len(messages))
        messages.insert(rng.randrange(original + 1, len(messages) + 1), messages[original])

    now = time.time()
    skew = system.settings.max_future_skew_s
    outcomes = [classify(lambda raw, s=stream: decode_event(raw, s, now, skew), raw)
                for _t, stream, _k, raw in messages]
    decoded = [decode_event(raw, stream, now, skew)
               for (_t, stream, _k, raw), reason in zip(messages, outcomes) if reason is None]
    rejected = [(topic, raw, reason) for (topic, _s, _k, raw), reason in zip(messages, outcomes) if reason]
    assert len(rejected) > HOSTILE_COUNT // 2 and len(set(r for *_x, r in rejected)) >= 4  # a varied batch

    producer = KafkaProducer(bootstrap_servers=system.settings.bootstrap_servers, max_request_size=2**21,
                             linger_ms=5)
    for topic, _stream, key, raw in messages:
        producer.send(topic, key=key, value=raw)
    producer.flush()
    producer.close()

    engine = RiskEngine(DetectorConfig())
    keyed = sum(len(engine.routes(e)) for e in decoded)
    system.wait_processed(consumed=len(decoded), rejected=len(rejected), keyed=keyed, timeout_s=180)

    for topic in topics.values():
        expected = [(raw, reason) for t, raw, reason in rejected if t == topic]
        records = system.read(system.settings.topics.dead_letter(topic), expected=len(expected))
        got = []
        for record in records:
            headers = {k: v.decode() for k, v in record.headers}
            assert headers["riskwatch-source-topic"] == topic
            assert int(headers["riskwatch-source-offset"]) >= 0
            assert headers["riskwatch-error"].startswith(headers["riskwatch-reason"] + ": ")
            got.append((record.value, headers["riskwatch-reason"]))
        assert Counter(got) == Counter(expected), topic  # original bytes, each exactly once

    # Alerts: the ids replay raises from the messages that decode (in event-time order),
    # and the duplicates change nothing: the same records without them. Only records made
    # by findings (status open) are compared by count: sweep records (e.g. an escalation of
    # an unacknowledged alert at each sweep) depend on how far each sweep jumps.
    def replayed(events) -> Counter:
        alerts = run_events(RiskEngine(DetectorConfig()), sorted(events, key=lambda e: e.time))
        return Counter((a.alert_id, a.status.value == "open") for a in alerts)

    seen: set[tuple[str, str]] = set()
    unique = [e for e in decoded if (e.event_id, e.event_type) not in seen and not seen.add((e.event_id, e.event_type))]
    assert len(unique) < len(decoded)
    expected = replayed(unique)
    assert replayed(decoded) == expected
    alerts = system.alerts(idle_s=6)
    assert {a["alert_id"] for a in alerts} == {alert_id for alert_id, _open in expected}
    worker_open = Counter(a["alert_id"] for a in alerts if a["status"] == "open")
    assert worker_open == Counter({alert_id: n for (alert_id, is_open), n in expected.items() if is_open})
    scenarios = [t for t in truth if not t.benign and t.typology in SCENARIOS]
    for record in scenarios:
        assert any(a["typology"] == record.typology and a["entity_id"] == record.entity_id for a in alerts), record
    _assert_no_personal_data(system, generated)


def _assert_no_personal_data(system, generated) -> None:
    personal = {g.event[f] for g in generated for f in PERSONAL_FIELDS if len(g.event.get(f) or "") >= 2}
    with_names = [g for g in generated if "customer_name" in g.event]
    assert len(personal) > 100
    # Sales whose transcripts greet the customer by name, and alerts that quote transcripts.
    assert any(g.event["customer_name"] in g.event.get("transcript", "") for g in with_names)
    alerts = system.read(system.settings.topics.alerts, idle_s=2)
    assert any(b"misleading_sales_phrase" in a.value for a in alerts)
    written = {
        "alerts": b"\n".join(r.value for r in alerts),
        "alert state": b"\n".join(r.value for r in system.read(system.settings.topics.alert_state, idle_s=2)),
        "findings": b"\n".join(r.value for r in system.read(system.settings.topics.findings, idle_s=2)),
        "worker log": system.log_path.read_bytes(),
        "metrics": urllib.request.urlopen(system.metrics_url, timeout=5).read(),
    }
    for where, data in written.items():
        text = data.decode("utf-8", errors="replace")
        leaked = sorted(value for value in personal if value in text)
        assert not leaked, f"personal data in {where}: {len(leaked)} values, e.g. a {len(leaked[0])}-character one"
