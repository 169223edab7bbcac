"""``riskwatch whatif``: one history through two threshold configurations, side by side.

Both runs use the worker's engine (:func:`streams.engine.run_events`) on the
same decoded events, each with its own thresholds file (the format of
``RISKWATCH_THRESHOLDS``, ``alert_policy`` section included), so a risk team
sees what a threshold change does before deploying it:

* per typology and tier, how many alerts each configuration raises; an alert
  (one ``alert_id``) counts once, at the highest tier it reached;
* the alerts only the second configuration raises (``appeared``), those only
  the first raises (``disappeared``), and those both raise at different tiers
  (``tier_changed``).

Alerts are matched by ``alert_id``, a hash of detector, entity and window: a
change that moves an episode's window start (e.g. ``window_s``) shows as one
alert disappearing and another appearing.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from alerts.model import Alert
from detectors.base import Tier
from detectors.events import Event
from streams.engine import RiskEngine, run_events
from streams.progress import Progress
from streams.replay import ReplayResult, decoded_lines
from streams.settings import load_thresholds

TIERS = [t.value for t in sorted(Tier, key=lambda t: t.rank)]


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    """An alert as a configuration raised it: its first record, at its highest tier."""

    first: Alert
    tier: str

    def to_dict(self) -> dict:
        a = self.first
        return {"alert_id": a.alert_id, "typology": a.typology, "tier": self.tier, "entity_type": a.entity_type,
                "entity_id": a.entity_id, "event_time": _iso(a.event_time), "summary": a.summary}


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def raised_alerts(records: Iterable[Alert]) -> dict[str, RaisedAlert]:
    """Every alert id of a run, with its first record and the highest tier any record had."""
    first: dict[str, Alert] = {}
    rank: dict[str, int] = {}
    for record in records:
        first.setdefault(record.alert_id, record)
        rank[record.alert_id] = max(rank.get(record.alert_id, -1), Tier(record.tier).rank)
    return {i: RaisedAlert(a, TIERS[rank[i]]) for i, a in first.items()}


def run_config(events: list[Event], thresholds: Path, progress: Progress | None = None,
               clock_s: float = 0.0) -> tuple[str, dict[str, RaisedAlert]]:
    """The config version and the alerts of ``events`` under the thresholds file (ConfigError if unusable)."""
    detectors, policy = load_thresholds(thresholds)
    engine = RiskEngine(detectors, clock=lambda: clock_s, policy=policy)
    return engine.config_version, raised_alerts(run_events(engine, events if progress is None else progress.each(events)))


def compare(a: dict[str, RaisedAlert], b: dict[str, RaisedAlert]) -> dict:
    """Counts per typology and tier, and the alerts that appear, disappear or change tier from ``a`` to ``b``."""
    count_a = Counter((r.first.typology, r.tier) for r in a.values())
    count_b = Counter((r.first.typology, r.tier) for r in b.values())
    rows = [{"typology": typology, "tier": tier, "a": count_a[(typology, tier)], "b": count_b[(typology, tier)]}
            for typology, tier in sorted(set(count_a) | set(count_b), key=lambda k: (k[0], Tier(k[1]).rank))]

    def ordered(ids: Iterable[str], side: dict[str, RaisedAlert]) -> list[dict]:
        return [side[i].to_dict() for i in sorted(ids, key=lambda i: (side[i].first.event_time, i))]

    changed = sorted((i for i in set(a) & set(b) if a[i].tier != b[i].tier), key=lambda i: (a[i].first.event_time, i))
    return {
        "counts": rows,
        "appeared": ordered(set(b) - set(a), b),
        "disappeared": ordered(set(a) - set(b), a),
        "tier_changed": [{k: v for k, v in a[i].to_dict().items() if k != "tier"} | {"tier_a": a[i].tier,
                                                                                     "tier_b": b[i].tier}
                         for i in changed],
    }


def whatif(events_path: Path, config_a: Path, config_b: Path, progress: Progress | None = None) -> dict:
    """The JSON of the command: the two runs and :func:`compare` of them."""
    started = time.perf_counter()
    decoding = ReplayResult()
    with open(events_path, "rb") as source:
        events = list(decoded_lines(source, None, decoding, time.time()))
    if progress is not None:
        progress.total = 2 * len(events)
    version_a, alerts_a = run_config(events, config_a, progress)
    version_b, alerts_b = run_config(events, config_b, progress)
    result = {
        "events": decoding.events,
        "rejected": decoding.rejected,
        "a": {"config": str(config_a), "config_version": version_a, "alerts": len(alerts_a)},
        "b": {"config": str(config_b), "config_version": version_b, "alerts": len(alerts_b)},
    }
    result.update(compare(alerts_a, alerts_b))
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def format_whatif(result: dict, limit: int = 50) -> str:
    """Counts side by side, then the alerts that appear (+), disappear (-) or change tier (~)."""
    a, b = result["a"], result["b"]
    lines = [f"{result['events']} events ({result['rejected']} rejected), {result['seconds']} s",
             f"A: {a['config']} (config {a['config_version']}): {a['alerts']} alerts",
             f"B: {b['config']} (config {b['config_version']}): {b['alerts']} alerts",
             "", f"{'typology':32} {'tier':9} {'A':>6} {'B':>6} {'B-A':>6}"]
    for row in result["counts"]:
        lines.append(f"{row['typology']:32} {row['tier']:9} {row['a']:6d} {row['b']:6d} {row['b'] - row['a']:+6d}")
    for key, mark in (("appeared", "+"), ("disappeared", "-"), ("tier_changed", "~")):
        items = result[key]
        lines.append(f"\n{key}: {len(items)}")
        for item in items[:limit]:
            tier = item.get("tier") or f"{item['tier_a']}->{item['tier_b']}"
            lines.append(f"{mark} {item['event_time']} {item['typology']:28} {tier:16} "
                         f"{item['entity_type']}:{item['entity_id']}  {item['summary']}")
        if len(items) > limit:
            lines.append(f"  ... and {len(items) - limit} more (--json lists all)")
    return "\n".join(lines)
