"""The quarterly report of a generated quarter, opened in a real browser (Debian's headless Chromium).

The figures the browser shows for each partner must be the ones ``report --json`` prints.
"""
from __future__ import annotations

from html.parser import HTMLParser

import orjson
import pytest

from services import headless_chromium
from streams.cli import main

pytestmark = pytest.mark.integration

#: How the page shows each kind of figure (written here independently of the renderer).
PERCENT = {"loss_ratio", "compliance_rate", "contract_deviation", "processing_on_time_rate", "response_rate"}
MONEY = {"premium_written", "premium_received", "claims_paid"}


def shown(kpi: str, value) -> str:
    if value is None:
        return "–"
    if kpi in PERCENT:
        return f"{value * 100:.1f}%"
    if kpi in MONEY:
        return f"{value:,.0f}"
    return str(value)


class ScorecardCells(HTMLParser):
    """Collects, per (scope, id) row, each cell's data-kpi -> (data-value, shown text)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], dict[str, tuple[str | None, str]]] = {}
        self.external: list[str] = []
        self._row: tuple[str, str] | None = None
        self._cell: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "link", "img", "iframe") or "src" in a or (a.get("href") or "").startswith("http"):
            self.external.append(tag)
        if tag == "tr" and "data-scope" in a:
            self._row = (a["data-scope"], a["data-id"])
            self.rows[self._row] = {}
        elif tag == "td" and self._row and "data-kpi" in a:
            self._cell = [a["data-kpi"], a.get("data-value"), ""]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[2] += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            kpi, value, text = self._cell
            self.rows[self._row][kpi] = (value, text.strip())
            self._cell = None
        elif tag == "tr":
            self._row = None


def test_a_generated_quarter_in_the_browser_shows_the_figures_of_the_json(tmp_path, capsys):
    events, page, shot = tmp_path / "q3.jsonl", tmp_path / "report.html", tmp_path / "report.png"
    assert main(["generate", "--seed", "5", "--events", "6000", "--days", "92", "--start", "2026-07-01T00:00:00Z",
                 "--out", str(events)]) == 0
    capsys.readouterr()
    assert main(["report", str(events), "--out", str(page), "--period", "2026Q3", "--json"]) == 0
    report = orjson.loads(capsys.readouterr().out)
    assert report["period"] == "2026Q3" and report["partners"] and report["branches"]

    headless_chromium(tmp_path, page.as_uri(), f"--screenshot={shot}", "--window-size=1400,1800")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000

    dom = ScorecardCells()
    dom.feed(headless_chromium(tmp_path, page.as_uri(), "--dump-dom"))
    assert dom.external == []  # nothing to fetch: the page is self-contained
    cards = report["partners"] + report["branches"]
    assert set(dom.rows) == {(c["scope"], c["id"]) for c in cards}
    for card in cards:
        row = dom.rows[(card["scope"], card["id"])]
        for kpi, (value, text) in row.items():
            if kpi in ("branch_id", "below_target"):
                continue
            head, _, tier = kpi.partition(".")
            expected = card[head][tier] if tier else card[head]
            assert orjson.loads(value) == expected, (card["id"], kpi)
            assert text == shown(head, expected), (card["id"], kpi)
        assert row["branch_id"][1] == card["branch_id"] if card["scope"] == "partner" else True
    # below-target scorecards come first, as the JSON orders them
    flags = [bool(c["below_target"]) for c in report["partners"]]
    assert flags == sorted(flags, reverse=True)
