"""``riskwatch report`` from a history file: the same engine and scorecard core, one self-contained page."""
from __future__ import annotations

from pathlib import Path

import orjson

from alerts.scorecards import quarter_bounds
from streams.cli import main
from streams.report import Gathered, alerts_overview, assemble, default_period

Q3_START = quarter_bounds("2026Q3")[0]


def _iso(t: float) -> str:
    from alerts.model import iso_time

    return iso_time(t)


def _sale(n: int, t: float, partner: str, transcript: str) -> dict:
    return {"schema_version": 1, "event_id": f"sale-{n}", "event_type": "sale_recorded", "event_time": _iso(t),
            "policy_id": f"P-{n}", "customer_id": f"C-{n}", "agent_id": f"A-{n}", "branch_id": "BR-1",
            "partner_id": partner, "product_id": "PR-1", "transcript": transcript, "premium": 2_000,
            "product_risk_level": 1, "product_category": "health", "term_years": 1, "customer_age": 40,
            "customer_income": 200_000, "customer_risk_tolerance": 3}


def _history(tmp_path: Path) -> Path:
    lines = [_sale(i, Q3_START + 86_400 * (1 + i), "PT-1" if i < 12 else "PT-2",
                   "这款产品稳赚不赔" if i in (0, 1) else "保障全面，请阅读条款") for i in range(24)]
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines) + b"not json\n")
    return path


def test_report_json_and_html_from_a_history_file(tmp_path, capsys):
    page = tmp_path / "report.html"
    assert main(["report", str(_history(tmp_path)), "--out", str(page), "--json"]) == 0
    report = orjson.loads(capsys.readouterr().out)
    assert set(report) == {"report_version", "period", "source", "partners", "branches", "alerts", "proposals"}
    assert report["period"] == "2026Q3"  # the quarter with the most events
    # PT-1: 2 of 12 sales with a banned phrase -> 83.3% compliance, below target, listed first
    assert [(c["id"], c["policies"], c["flagged_policies"]) for c in report["partners"]] == [("PT-1", 12, 2),
                                                                                           ("PT-2", 12, 0)]
    assert report["partners"][0]["below_target"] == ["compliance_rate"]
    # a history file records no acknowledgements: response figures are unknown, not 0%
    assert (report["partners"][0]["alerts_needing_response"], report["partners"][0]["response_rate"]) == (2, None)
    assert (report["alerts"]["needing_response"], report["alerts"]["response_rate"]) == (2, None)
    assert report["partners"][0]["alerts"]["critical"] == 2  # the two banned-phrase alerts, by the same detectors
    assert report["alerts"]["by_typology"]["misleading_sales_phrase"]["critical"] == 2
    assert [(p["partner_id"], p["action"]) for p in report["proposals"]] == [("PT-1", "suspension")]
    html = page.read_text()
    assert '<tr data-scope="partner" data-id="PT-1" class="off">' in html
    assert 'data-kpi="compliance_rate" data-value="0.8333" class="below"' in html
    assert "<script" not in html and "src=" not in html and "<svg" in html


def test_report_needs_a_source_and_a_well_formed_period(tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path / "r.html")]) == 2
    assert main(["report", str(_history(tmp_path)), "--period", "2026-Q3", "--json"]) == 2
    assert "2026Q3" in capsys.readouterr().err


def test_alerts_are_counted_per_week_of_their_first_finding_and_responses_within_24_h():
    week = 7 * 86_400
    alerts = [
        {"alert_id": "a", "tier": "high", "typology": "t1", "first_seen": _iso(Q3_START + 10), "event_time": "",
         "ack_deadline": _iso(Q3_START + 86_400), "acknowledged_at": _iso(Q3_START + 3600)},
        {"alert_id": "b", "tier": "critical", "typology": "t1", "first_seen": _iso(Q3_START + week + 5),
         "event_time": "", "ack_deadline": _iso(Q3_START + week), "acknowledged_at": _iso(Q3_START + 3 * week)},
        {"alert_id": "c", "tier": "low", "typology": "t2", "first_seen": _iso(Q3_START - 5), "event_time": ""},
    ]
    overview = alerts_overview(alerts, "2026Q3", 86_400.0)
    assert overview["total"] == 2 and len(overview["by_week"]) == 14
    assert (overview["by_week"][0]["high"], overview["by_week"][1]["critical"]) == (1, 1)
    assert (overview["needing_response"], overview["responded_in_time"], overview["response_rate"]) == (2, 1, 0.5)


def test_topics_default_to_the_latest_quarter_with_scorecards():
    gathered = Gathered("topics", [{"period": "2026Q2"}, {"period": "2026Q3"}], [])
    assert default_period(gathered) == "2026Q3"
    assert assemble(gathered, "2026Q1")["partners"] == []
