"""``riskwatch report``: the quarterly partner and branch report, from a history file or a running system.

Both paths end in :func:`assemble`, so the HTML and ``--json`` show the same
data whichever way it was gathered:

* **history file**: the events run through the worker's engine
  (:func:`streams.engine.run_events`, as ``replay`` does) so that alerts come
  from the same detectors, and events and alert records both fold into the
  scorecard core (:class:`alerts.scorecards.ScorecardCore`) the worker uses;
* **topics**: the latest scorecards on ``risk.scorecards`` and the latest
  record of each alert on ``risk.alerts.state``.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from alerts.policy import AlertPolicyConfig
from alerts.review import ReviewPolicy, proposals
from alerts.scorecards import KPI_DIRECTION, TIERS, RegistryProfiles, ScorecardCore, quarter_bounds, quarter_of
from detectors.config import DetectorConfig
from detectors.events import Event
from detectors.registry import PartnerRecord
from streams.engine import DictStateStore, RiskEngine, run_events
from streams.replay import ReplayResult, decoded_lines
from streams.settings import Settings
from streams.watermarks import SweepGrid

REPORT_VERSION = 1


@dataclass
class Gathered:
    """Scorecards and alert records for a report, and where they came from."""

    source: str
    scorecards: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    #: Quarter -> events seen in it (history files only), to pick the default period.
    events_by_quarter: dict[str, int] = field(default_factory=dict)
    replay: ReplayResult | None = None
    #: Whether alert acknowledgements can be in the data (not in a history file).
    responses_recorded: bool = True


def gather_history(events_path: Path, config: DetectorConfig, policy: AlertPolicyConfig | None = None,
                   core: ScorecardCore | None = None, max_future_skew_s: float = 86_400.0) -> Gathered:
    """Run a JSON-lines history through the engine and the scorecard core.

    A history file holds events, not acknowledgements: response figures are unknown (None)."""
    engine = RiskEngine(config, policy=policy)
    # The file's partner registry records reach engine.registry as run_events meets them.
    core = core or ScorecardCore(config, responses_recorded=False, profiles=RegistryProfiles(engine.registry))
    states = DictStateStore()
    result = ReplayResult()
    by_quarter: dict[str, int] = {}
    latest: dict[str, dict[str, Any]] = {}
    grid = SweepGrid()  # the worker's and the engine's sweep grid
    last = [float("-inf")]

    def advance(watermark: float) -> None:
        for branch in core.branches(states):
            core.advance(states, branch, watermark)

    def tap(events: Iterable[Event]) -> Iterator[Event]:
        for event in events:
            if isinstance(event, PartnerRecord):
                yield event  # for run_events, which applies it to the registry
                continue
            period = quarter_of(event.time)
            by_quarter[period] = by_quarter.get(period, 0) + 1
            branch = core.route(event)
            if branch is not None:
                core.observe(event, states, branch)
            last[0] = max(last[0], event.time)
            boundary = grid.due(event.time)
            if boundary is not None:
                advance(boundary)
            yield event

    with open(events_path, "rb") as source:
        for alert in run_events(engine, tap(decoded_lines(source, None, result, time.time(), max_future_skew_s))):
            record = alert.to_dict()
            latest[alert.alert_id] = record
            result.alerts += 1
            branch = core.alert_route(record)
            if branch is not None:
                core.observe_alert(record, states, branch)
    if last[0] > float("-inf"):
        advance(last[0])
    cards = [card for branch in core.branches(states) for card in core.scorecards(states, branch)]
    return Gathered(f"history file {events_path.name}", cards, list(latest.values()), by_quarter, result,
                    responses_recorded=False)


def gather_topics(settings: Settings, idle_s: float = 3.0) -> Gathered:
    """The latest scorecard per (scope, id, period) and the latest record per alert id, read to idleness."""
    from streams.tail import tail_alerts

    cards: dict[tuple[str, str, str], dict[str, Any]] = {}
    alerts: dict[str, dict[str, Any]] = {}

    def keep_card(card: dict, raw: bytes) -> None:
        if isinstance(card, dict) and {"scope", "id", "period"} <= card.keys():
            cards[(card["scope"], card["id"], card["period"])] = card

    def keep_alert(alert: dict, raw: bytes) -> None:
        if isinstance(alert, dict) and "alert_id" in alert:
            alerts[alert["alert_id"]] = alert

    tail_alerts(settings, from_beginning=True, idle_timeout_s=idle_s, on_alert=keep_card,
                topic=settings.topics.scorecards)
    tail_alerts(settings, from_beginning=True, idle_timeout_s=idle_s, on_alert=keep_alert,
                topic=settings.topics.alert_state)
    return Gathered(f"topics {settings.topics.scorecards} and {settings.topics.alert_state}", list(cards.values()),
                    list(alerts.values()))


def default_period(gathered: Gathered) -> str | None:
    """The quarter with the most events (history), else the latest quarter with a scorecard."""
    if gathered.events_by_quarter:
        return max(sorted(gathered.events_by_quarter), key=lambda q: gathered.events_by_quarter[q])
    periods = sorted({c["period"] for c in gathered.scorecards})
    return periods[-1] if periods else None


def _shortfall(card: dict[str, Any]) -> float:
    """How far a scorecard is off its targets (sum of relative misses), to order the worst first."""
    total = 0.0
    for kpi in card["below_target"]:
        target, value = card["targets"][kpi], card[kpi]
        total += (target - value) / target if KPI_DIRECTION[kpi] else (value - target) / max(target, 1e-9)
    return total


def _iso_time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def alerts_overview(alerts: Iterable[dict[str, Any]], period: str, response_s: float,
                    responses_recorded: bool = True) -> dict[str, Any]:
    """Alerts first seen in ``period``: per week and tier, per typology and tier, and response compliance
    (None where no response can have been recorded)."""
    start, end = quarter_bounds(period)
    weeks = []
    t = start
    while t < end:
        weeks.append({"week_start": datetime.fromtimestamp(t, tz=timezone.utc).date().isoformat(),
                      **{tier: 0 for tier in TIERS}})
        t += 7 * 86_400
    by_typology: dict[str, dict[str, int]] = {}
    needing = responded = 0
    for alert in alerts:
        first = _iso_time(alert.get("first_seen") or alert["event_time"])
        if not start <= first < end:
            continue
        weeks[int((first - start) // (7 * 86_400))][alert["tier"]] += 1
        row = by_typology.setdefault(alert["typology"], {tier: 0 for tier in TIERS})
        row[alert["tier"]] += 1
        if alert.get("ack_deadline") is not None:
            needing += 1
            at = alert.get("acknowledged_at") or (alert.get("resolved_at") if alert.get("resolution") in
                                                  ("confirmed", "false_positive") else None)
            responded += at is not None and _iso_time(at) - first <= response_s
    typologies = dict(sorted(by_typology.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])))
    return {"total": sum(sum(r.values()) for r in typologies.values()), "by_week": weeks,
            "by_typology": typologies, "needing_response": needing,
            "responded_in_time": responded if responses_recorded else None,
            "response_rate": round(responded / needing, 4) if needing and responses_recorded else None}


def assemble(gathered: Gathered, period: str, response_s: float = 86_400.0,
             review: ReviewPolicy | None = None) -> dict[str, Any]:
    """The report's data: what ``--json`` prints and the HTML shows (keys in README)."""
    quarter_bounds(period)  # a clear error for a malformed period
    cards = [c for c in gathered.scorecards if c["period"] == period]
    order = sorted(cards, key=lambda c: (not c["below_target"], -_shortfall(c), c["scope"], c["id"]))
    return {
        "report_version": REPORT_VERSION,
        "period": period,
        "source": gathered.source,
        "partners": [c for c in order if c["scope"] == "partner"],
        "branches": [c for c in order if c["scope"] == "branch"],
        "alerts": alerts_overview(gathered.alerts, period, response_s, gathered.responses_recorded),
        "proposals": proposals(cards, review),
    }

