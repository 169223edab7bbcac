"""The quarterly report as one self-contained HTML file: inline CSS, inline SVG charts, no script, no network.

Renders exactly the data :func:`streams.report.assemble` returns (what
``--json`` prints). Every figure of a scorecard sits in an element with
``data-scope``, ``data-id`` (on its row) and ``data-kpi`` / ``data-value``
(the unformatted value, JSON-encoded), so a browser test can read the
rendered page back and compare it with ``--json``.
"""
from __future__ import annotations

from html import escape
from typing import Any

import orjson

from alerts.review import KPI_LABELS
from alerts.scorecards import KPI_DIRECTION, TIERS

#: Blue / yellow / orange / red, as the early-warning tiers are named.
TIER_COLOURS = {"low": "#3b82c4", "medium": "#e0b000", "high": "#e8731c", "critical": "#c62828"}
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;margin:24px;color:#1d2330;
 background:#fff;font-size:14px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dde6;padding-bottom:4px}
.sub{color:#5a6475;margin-bottom:16px}
.tiles{display:flex;gap:12px;flex-wrap:wrap}.tile{border:1px solid #d8dde6;border-radius:6px;padding:10px 14px;min-width:150px}
.tile b{display:block;font-size:22px}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0}th,td{padding:4px 7px;border-bottom:1px solid #e6e9ef;
 text-align:right;white-space:nowrap}th{background:#f3f5f8;position:sticky;top:0}td.l,th.l{text-align:left}
td.below{background:#fde2e1;color:#8c1d18;font-weight:600}tr.off td:first-child{border-left:3px solid #c62828}
.exit{color:#8c1d18;font-weight:700}.suspension{color:#b45309;font-weight:700}.review{color:#1e4e8c;font-weight:700}
ul.ev{margin:2px 0;padding-left:18px;text-align:left;white-space:normal;max-width:900px}
.charts{display:flex;flex-wrap:wrap;gap:18px}.note{color:#5a6475;font-size:12px}
svg text{font-family:inherit}
"""
#: Scorecard columns: (key, header, kind), kind: int, cny, pct, ratio, hours.
COLUMNS = [("policies", "policies", "int"), ("premium_written", "premium written (CNY)", "cny"),
           ("premium_received", "premium received (CNY)", "cny"), ("claims_paid", "claims paid (CNY)", "cny"),
           ("loss_ratio", "loss ratio", "pct"), ("complaints", "complaints", "int"),
           ("compliance_rate", "compliance rate", "pct"), ("contract_deviation", "contract deviation", "pct"),
           ("processing_on_time_rate", "tasks on time", "pct"),
           *((f"alerts.{tier}", tier, "int") for tier in TIERS),
           ("response_rate", "responded ≤ 24 h", "pct")]


def fmt(value: Any, kind: str) -> str:
    """How a figure is shown (the browser test formats ``--json`` values the same way)."""
    if value is None:
        return "–"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "cny":
        return f"{value:,.0f}"
    return str(value)


def _value(card: dict[str, Any], key: str) -> Any:
    head, _, rest = key.partition(".")
    return card[head][rest] if rest else card[head]


def _cell(card: dict[str, Any], key: str, kind: str) -> str:
    value = _value(card, key)
    below = key in card["below_target"]
    title = ""
    if key in KPI_DIRECTION and card["targets"].get(key) is not None:
        word = "at least" if KPI_DIRECTION[key] else "at most"
        title = f' title="target: {word} {fmt(card["targets"][key], "pct")}"'
    css = ' class="below"' if below else ""
    return (f'<td data-kpi="{escape(key)}" data-value="{escape(orjson.dumps(value).decode())}"'
            f'{css}{title}>{fmt(value, kind)}</td>')


def scorecard_table(cards: list[dict[str, Any]], scope: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for _, h, _ in COLUMNS)
    extra = '<th class="l">branch</th><th class="l">type</th>' if scope == "partner" else ""
    rows = []
    for card in cards:
        first = (f'<td class="l" data-kpi="branch_id">{escape(card["branch_id"] or "")}</td>'
                 f'<td class="l">{escape(card.get("partner_type") or "–")}</td>') if scope == "partner" else ""
        below = ", ".join(KPI_LABELS[k] for k in card["below_target"]) or "–"
        off = ' class="off"' if card["below_target"] else ""
        rows.append(f'<tr data-scope="{scope}" data-id="{escape(card["id"])}"{off}>'
                    f'<td class="l"><b>{escape(card["id"])}</b></td>{first}'
                    + "".join(_cell(card, key, kind) for key, _, kind in COLUMNS)
                    + f'<td class="l" data-kpi="below_target">{escape(below)}</td></tr>')
    if not rows:
        return '<p class="note">No scorecards for this quarter.</p>'
    return (f'<table><thead><tr><th class="l">{scope}</th>{extra}{head}<th class="l">below target</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _legend(x: float, y: float) -> str:
    parts = []
    for i, tier in enumerate(TIERS):
        parts.append(f'<rect x="{x + i * 80}" y="{y}" width="10" height="10" fill="{TIER_COLOURS[tier]}"/>'
                     f'<text x="{x + i * 80 + 14}" y="{y + 9}" font-size="11">{tier}</text>')
    return "".join(parts)


def weekly_tier_chart(weeks: list[dict[str, Any]]) -> str:
    """Stacked columns: alerts first seen per week of the quarter, by tier."""
    width, height, left, bottom, top = 620, 260, 40, 40, 30
    peak = max([sum(w[t] for t in TIERS) for w in weeks] + [1])
    slot = (width - left - 10) / max(len(weeks), 1)
    scale = (height - bottom - top) / peak
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="alerts per week by tier">', _legend(left, 8)]
    for tick in (0, peak / 2, peak):
        y = height - bottom - tick * scale
        out.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e6e9ef"/>'
                   f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{tick:.0f}</text>')
    for i, week in enumerate(weeks):
        y = height - bottom
        for tier in TIERS:
            h = week[tier] * scale
            if h:
                out.append(f'<rect x="{left + i * slot + 2:.1f}" y="{y - h:.1f}" width="{slot - 4:.1f}" '
                           f'height="{h:.1f}" fill="{TIER_COLOURS[tier]}"><title>{week["week_start"]}: '
                           f'{week[tier]} {tier}</title></rect>')
                y -= h
        if i % 2 == 0:
            out.append(f'<text x="{left + i * slot + slot / 2:.1f}" y="{height - bottom + 14}" font-size="9" '
                       f'text-anchor="middle">{week["week_start"][5:]}</text>')
    out.append(f'<text x="{left}" y="{height - 6}" font-size="10">week starting (month-day)</text></svg>')
    return "".join(out)


def typology_chart(by_typology: dict[str, dict[str, int]]) -> str:
    """Horizontal stacked bars: alerts of the quarter per typology, by tier."""
    rows = list(by_typology.items())
    left, bar, width = 210, 16, 620
    height = 30 + bar * len(rows) + 10
    peak = max([sum(r.values()) for _, r in rows] + [1])
    scale = (width - left - 50) / peak
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="alerts by typology and tier">', _legend(left, 8)]
    for i, (typology, tiers) in enumerate(rows):
        y = 28 + i * bar
        out.append(f'<text x="{left - 6}" y="{y + 11}" font-size="11" text-anchor="end">{escape(typology)}</text>')
        x = left
        for tier in TIERS:
            w = tiers[tier] * scale
            if w:
                out.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{bar - 4}" '
                           f'fill="{TIER_COLOURS[tier]}"><title>{escape(typology)}: {tiers[tier]} {tier}</title></rect>')
                x += w
        out.append(f'<text x="{x + 4:.1f}" y="{y + 11}" font-size="10">{sum(tiers.values())}</text>')
    out.append("</svg>")
    return "".join(out)


def kpi_chart(cards: list[dict[str, Any]], kpi: str) -> str:
    """One bar per partner with the KPI, the target as a dashed line; bars off target in red."""
    rows = [c for c in cards if c[kpi] is not None]
    label = KPI_LABELS[kpi]
    if not rows:
        return f'<p class="note">{escape(label)}: no figures this quarter.</p>'
    target = rows[0]["targets"][kpi]
    left, bar, width = 90, 13, 330
    height = 34 + bar * len(rows)
    top = max([c[kpi] for c in rows] + [target]) * 1.1 or 1.0
    scale = (width - left - 70) / top
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{escape(label)} per partner against target">',
           f'<text x="0" y="12" font-size="12" font-weight="600">{escape(label)}</text>']
    for i, card in enumerate(rows):
        y = 22 + i * bar
        colour = "#c62828" if kpi in card["below_target"] else "#5b8def"
        out.append(f'<text x="{left - 4}" y="{y + 9}" font-size="9" text-anchor="end">{escape(card["id"])}</text>'
                   f'<rect x="{left}" y="{y + 1}" width="{card[kpi] * scale:.1f}" height="{bar - 3}" fill="{colour}">'
                   f'<title>{escape(card["id"])}: {fmt(card[kpi], "pct")}</title></rect>')
    x = left + target * scale
    out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="18" y2="{height - 4}" stroke="#1d2330" stroke-dasharray="4 3"/>'
               f'<text x="{x + 3:.1f}" y="16" font-size="9">target {fmt(target, "pct")}</text></svg>')
    return "".join(out)


def proposals_table(proposals: list[dict[str, Any]]) -> str:
    if not proposals:
        return '<p class="note">No partner is proposed for review, suspension or exit.</p>'
    rows = "".join(
        f'<tr data-proposal="{escape(p["partner_id"])}"><td class="l"><b>{escape(p["partner_id"])}</b></td>'
        f'<td class="l">{escape(p["branch_id"] or "")}</td><td class="l {p["action"]}">{p["action"]}</td>'
        f'<td class="l"><ul class="ev">{"".join(f"<li>{escape(e)}</li>" for e in p["evidence"])}</ul></td></tr>'
        for p in proposals)
    return ('<table><thead><tr><th class="l">partner</th><th class="l">branch</th><th class="l">proposed</th>'
            f'<th class="l">evidence</th></tr></thead><tbody>{rows}</tbody></table>')


def render(report: dict[str, Any]) -> bytes:
    """The whole page for ``report`` (:func:`streams.report.assemble`)."""
    partners, branches, alerts = report["partners"], report["branches"], report["alerts"]
    below_p = sum(1 for c in partners if c["below_target"])
    below_b = sum(1 for c in branches if c["below_target"])
    response = fmt(alerts["response_rate"], "pct")
    answered = "not recorded in a history file" if alerts["responded_in_time"] is None else \
        f'{alerts["responded_in_time"]} of {alerts["needing_response"]} high/critical'
    tiles = [("partners below target", f"{below_p} of {len(partners)}"),
             ("branches below target", f"{below_b} of {len(branches)}"),
             ("alerts in the quarter", str(alerts["total"])),
             ("responded within 24 h", f"{response} <small>({escape(answered)})</small>"),
             ("proposed for review, suspension or exit", str(len(report["proposals"])))]
    kpi_charts = "".join(kpi_chart(partners, kpi) for kpi in KPI_DIRECTION)
    body = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>riskwatch quarterly report {escape(report["period"])}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body data-period="{escape(report["period"])}">
<h1>Partners and branches, {escape(report["period"])}</h1>
<div class="sub">From {escape(report["source"])}. Scorecards against their targets; those below target first
(cells in red). A quarter is calendar, UTC, by event time.</div>
<div class="tiles">{"".join(f'<div class="tile"><b>{v}</b>{escape(k)}</div>' for k, v in tiles)}</div>
<h2>Partner scorecards</h2>{scorecard_table(partners, "partner")}
<h2>Alerts over the quarter</h2><div class="charts">{weekly_tier_chart(alerts["by_week"])}
{typology_chart(alerts["by_typology"])}</div>
<h2>Partner KPIs against target</h2><div class="charts">{kpi_charts}</div>
<h2>Proposed for review, suspension or exit</h2>{proposals_table(report["proposals"])}
<h2>Branch scorecards</h2>{scorecard_table(branches, "branch")}
<p class="note">Response: a high or critical alert acknowledged, or resolved by a person, within 24 hours of its
first finding. Tasks on time: callbacks, complaints and claims decided within their target (detector deadlines,
or the partner's contract). Loss ratio: claims paid over premium received.</p>
</body></html>
"""
    return body.encode()
