"""Scorecards in the worker: kept per branch, published to risk.scorecards on request and when a quarter closes,
and read back by ``riskwatch report --from-topics``."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from services import wait_until
from streams.actions import encode_action
from streams.partners import latest_scorecard
from streams.cli import main

pytestmark = pytest.mark.integration
Q3 = datetime(2026, 7, 1, tzinfo=timezone.utc)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _sale(n: int, at: datetime, transcript: str = "保障全面，请阅读条款") -> dict:
    return {"schema_version": 1, "event_id": f"sale-{n}", "event_type": "sale_recorded", "event_time": _iso(at),
            "policy_id": f"P-{n}", "customer_id": f"C-{n}", "agent_id": "A-1", "branch_id": "BR-7",
            "partner_id": "PT-3", "product_id": "PR-1", "transcript": transcript, "premium": 5_000,
            "product_risk_level": 2, "product_category": "health", "term_years": 1, "customer_age": 40,
            "customer_income": 200_000, "customer_risk_tolerance": 3}


def _send(system, topic: str, items: list[tuple[bytes, bytes]]) -> None:
    system.send(topic, items)


def _cards(system) -> list[dict]:
    return [orjson.loads(r.value) for r in system.read(system.settings.topics.scorecards, idle_s=1.0)]


def test_scorecards_on_request_and_at_quarter_close_and_the_report_from_the_topics(system, monkeypatch, capsys):
    policy = system.settings.topics.policy
    sales = [_sale(i, Q3 + timedelta(days=10, hours=i), "这款产品稳赚不赔" if i == 0 else "保障全面，请阅读条款")
             for i in range(3)]
    _send(system, policy, [(s["policy_id"].encode(), orjson.dumps(s)) for s in sales])
    wait_until(lambda: system.alerts(expected=1), 90, "the banned-phrase alert")

    def asked() -> dict | None:
        request = {"action": "scorecards", "who": "risk-1", "at": _iso(datetime.now(timezone.utc))}
        _send(system, system.settings.topics.actions, [encode_action(request)])
        # (the keyed stage applies events once the watermark passes them; an answer may come before)
        found = [c for c in _cards(system) if (c["scope"], c["id"]) == ("partner", "PT-3")
                 and c["alerts"]["critical"] == 1 and c["policies"] == 3]
        return found[-1] if found else None

    card = wait_until(asked, 90, "the partner's scorecard on request")
    assert (card["period"], card["branch_id"], card["final"]) == ("2026Q3", "BR-7", False)
    assert (card["policies"], card["premium_written"], card["flagged_policies"]) == (3, 15_000.0, 1)
    assert card["compliance_rate"] == round(1 - 1 / 3, 4)
    assert [a["typology"] for a in card["serious_alerts"]] == ["misleading_sales_phrase"]

    # Event time passes the end of Q3 and its 2-day grace: the quarter closes and is published as final.
    late = _sale(9, datetime(2026, 10, 4, tzinfo=timezone.utc))
    _send(system, policy, [(b"P-9", orjson.dumps(late))])
    final = wait_until(lambda: [c for c in _cards(system) if c["period"] == "2026Q3" and c["final"]], 90,
                       "the final Q3 scorecards")
    assert {(c["scope"], c["id"]) for c in final} == {("partner", "PT-3"), ("branch", "BR-7")}
    # `riskwatch partners show` prints the newest quarter's latest scorecard beside the record.
    shown = latest_scorecard(system.settings, "PT-3")
    assert (shown["period"], shown["final"], shown["policies"]) == ("2026Q3", True, 3)

    # The report reads the same figures back from the topics.
    for name, value in system.env.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert main(["report", "--from-topics", "--period", "2026Q3", "--json"]) == 0
    report = orjson.loads(capsys.readouterr().out)
    partner = next(c for c in report["partners"] if c["id"] == "PT-3")
    assert partner["final"] and partner["policies"] == 3 and partner["alerts"]["critical"] == 1
    assert report["alerts"]["by_typology"]["misleading_sales_phrase"]["critical"] == 1
