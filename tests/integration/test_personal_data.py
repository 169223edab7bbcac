"""Personal data stays out of alerts, logs and metric labels (issue 9, security).

Generated events carry the customer's name, phone number and ID-card number, and
sale transcripts greet the customer by name. None of them may appear in what the
worker writes: the alert and alert-state topics, its internal findings topic, its
log file, or its /metrics (labels included).

Size: 600 events with six mis-selling scenarios (alerts that quote transcripts),
about 15 s of processing.
"""
from __future__ import annotations

import time
import urllib.request

import orjson
import pytest

from detectors.config import DetectorConfig
from streams.codec import decode_event
from streams.engine import RiskEngine
from streams.generator import GeneratorConfig, generate
from streams.publish import produce
from streams.schemas import PERSONAL_FIELDS

pytestmark = pytest.mark.integration

SCENARIOS = {"misleading_sales_phrase": 3, "premium_unaffordable": 1, "elderly_unsuitable_product": 1,
             "mis_selling_complaint": 1}


def test_no_name_phone_or_id_number_reaches_alerts_logs_or_metrics(system):
    events, truth = generate(GeneratorConfig(seed=51, events=600, scenario_mix=SCENARIOS))
    personal = {g.event[f] for g in events for f in PERSONAL_FIELDS if len(g.event.get(f) or "") >= 2}
    with_names = [g for g in events if "customer_name" in g.event]
    assert len(personal) > 100 and with_names
    # The sales quote their transcripts, which greet the customer by name.
    assert any(g.event["customer_name"] in g.event.get("transcript", "") for g in with_names)

    now = time.time()
    decoded = [decode_event(orjson.dumps(g.event), None, now) for g in events]
    engine = RiskEngine(DetectorConfig())
    produce(system.settings, events)
    system.wait_processed(consumed=len(events), rejected=0, keyed=sum(len(engine.routes(e)) for e in decoded))
    alerts = system.read(system.settings.topics.alerts, idle_s=6)
    assert len({a.value for a in alerts}) >= sum(1 for t in truth if not t.benign)
    quotes = [orjson.loads(a.value) for a in alerts if b"misleading_sales_phrase" in a.value]
    assert quotes, "no alert quoting a transcript to check"

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
