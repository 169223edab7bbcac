"""On-call paging through a real Alertmanager, and response deadlines on event time."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from services import Alertmanager, WebhookSink, wait_until
from streams.actions import encode_action
from streams.metrics import scrape_samples

pytestmark = pytest.mark.integration


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _sale(n: int, at: datetime, transcript: str = "这款产品稳赚不赔") -> dict:
    return {"schema_version": 1, "event_id": f"sale-{n}", "event_type": "sale_recorded", "event_time": _iso(at),
            "policy_id": f"P-{n}", "customer_id": f"C-{n}", "agent_id": f"A-{n}", "branch_id": "BR-7",
            "product_id": "PR-1", "transcript": transcript, "premium": 5_000, "product_risk_level": 2,
            "product_category": "health", "term_years": 1, "customer_age": 40, "customer_income": 200_000,
            "customer_risk_tolerance": 3}


def _send(system, topic: str, items: list[tuple[bytes, bytes]]) -> None:
    system.send(topic, items)


@pytest.fixture
def webhook():
    sink = WebhookSink()
    yield sink
    sink.close()


@pytest.fixture
def alertmanager(tmp_path, webhook):
    am = Alertmanager(tmp_path, webhook.url).start()
    yield am
    am.stop()


def test_critical_alert_pages_resolves_and_survives_an_alertmanager_outage(start_system, alertmanager, webhook):
    system = start_system(RISKWATCH_ALERTMANAGER_URL=alertmanager.url,
                          RISKWATCH_RUNBOOK_BASE_URL="https://wiki.example/riskwatch/runbooks")
    policy_topic = system.settings.topics.policy
    now = datetime.now(timezone.utc)
    _send(system, policy_topic, [(b"P-1", orjson.dumps(_sale(1, now - timedelta(minutes=5))))])

    # The on-call receiver gets the critical alert at once, with routing labels.
    paged = wait_until(lambda: [a for a in webhook.alerts() if a["labels"].get("entity") == "policy:P-1"], 60,
                  "the critical alert at the webhook")
    labels = paged[0]["labels"]
    assert paged[0]["path"] == "/oncall"
    assert labels["tier"] == "critical" and labels["typology"] == "misleading_sales_phrase"
    assert labels["branch"] == "BR-7" and labels["partner"] == "none"
    alert = system.alerts(expected=1)[0]
    assert labels["alert_id"] == alert["alert_id"]
    assert "稳赚不赔" in paged[0]["annotations"]["summary"]
    # The on-call person opens the typology's emergency-response runbook from the page itself.
    runbook = "https://wiki.example/riskwatch/runbooks/misleading_sales_phrase.md"
    assert paged[0]["annotations"]["runbook_url"] == runbook == alert["runbook_url"]
    assert [a["annotations"]["runbook_url"] for a in alertmanager.active_alerts()
            if a["labels"]["alert_id"] == alert["alert_id"]] == [runbook]

    # Resolving it through the actions topic resolves it in Alertmanager.
    resolve = {"action": "resolve", "alert_id": alert["alert_id"], "subject": alert["subject"], "who": "risk-1",
               "at": _iso(now), "disposition": "confirmed"}
    _send(system, system.settings.topics.actions, [encode_action(resolve)])
    wait_until(lambda: not [a for a in alertmanager.active_alerts() if a["labels"]["alert_id"] == alert["alert_id"]],
          60, "the alert to resolve in Alertmanager")

    # Alertmanager down: the worker goes on processing; the push succeeds once it is back.
    alertmanager.stop()
    _send(system, policy_topic, [(b"P-2", orjson.dumps(_sale(2, now - timedelta(minutes=4))))])
    second = wait_until(lambda: [a for a in system.alerts(expected=3) if a["entity_id"] == "P-2"], 60,
                   "the second alert on the topic while Alertmanager is down")
    wait_until(lambda: _failures(system) >= 1, 30, "a failed push to be counted")
    alertmanager.start()
    wait_until(lambda: [a for a in webhook.alerts() if a["labels"].get("alert_id") == second[0]["alert_id"]], 90,
          "the second alert at the webhook after Alertmanager came back")


def _failures(system) -> float:
    return sum(s.value for s in scrape_samples(system.metrics_url, "riskwatch_alertmanager_pushes_total")
               if s.labels.get("result") == "failure")


def test_unacknowledged_critical_alert_escalates_on_event_time_and_an_acknowledged_one_does_not(system):
    policy_topic = system.settings.topics.policy
    start = datetime.now(timezone.utc) - timedelta(hours=12)
    _send(system, policy_topic, [(b"P-1", orjson.dumps(_sale(1, start))), (b"P-2", orjson.dumps(_sale(2, start)))])
    opened = wait_until(lambda: len(system.alerts(expected=2)) >= 2 and system.alerts(expected=2), 60, "two alerts")
    acked = next(a for a in opened if a["entity_id"] == "P-2")
    ack = {"action": "ack", "alert_id": acked["alert_id"], "subject": acked["subject"], "who": "oncall-1",
           "at": _iso(start + timedelta(hours=1))}
    _send(system, system.settings.topics.actions, [encode_action(ack)])
    wait_until(lambda: any(a["status"] == "acknowledged" for a in system.alerts(expected=3)), 60, "the acknowledgement")

    # Event time moves 6 h on (a clean sale): past the 4 h critical deadline even
    # after the alert stage's 1 h watermark lag.
    _send(system, policy_topic, [(b"P-3", orjson.dumps(_sale(3, start + timedelta(hours=6), "请阅读免责条款")))])
    escalated = wait_until(lambda: [a for a in system.alerts(expected=4) if a["status"] == "escalated"], 60,
                      "the escalation")
    assert [a["entity_id"] for a in escalated] == ["P-1"]
    assert escalated[0]["escalation_level"] == 1
    time.sleep(3)  # a few more ticks: the acknowledged alert still does not escalate
    assert [a["entity_id"] for a in system.alerts() if a["status"] == "escalated"] == ["P-1"]
