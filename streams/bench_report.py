"""What ``riskwatch bench`` prints: the goals of the issue, the human table and the JSON."""
from __future__ import annotations

from typing import Any

import orjson

#: The issue's goals (2 cores): key -> (goal, True when higher is better).
GOALS: dict[str, tuple[float, bool]] = {
    "worker_events_per_s": (10_000, True),
    "over_framework": (0.7, True),
    "replay_events_per_s": (150_000, True),
    "latency_p50_ms": (20, False),
    "latency_p99_ms": (100, False),
    "bytes_per_entity": (1024, False),
    "restart_s": (60, False),
    "startup_s": (10, False),
    "scale_2_over_1": (1.7, True),
}


def goals(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each goal of the issue against this run's figure."""
    stages = result["stages"]
    values = {
        "worker_events_per_s": stages["worker"]["events_per_s"],
        "over_framework": stages["worker"]["over_framework"],
        "replay_events_per_s": stages["replay"]["events_per_s"],
        "latency_p50_ms": result["latency_ms"]["p50"],
        "latency_p99_ms": result["latency_ms"]["p99"],
        "bytes_per_entity": result["bytes_per_entity"],
        "restart_s": result["restart_s"],
        "startup_s": result["startup_s"],
        "scale_2_over_1": result["scale_2_over_1"],
    }
    out = {}
    for key, (goal, higher) in GOALS.items():
        value = values[key]
        out[key] = {"value": value, "goal": goal, "met": value >= goal if higher else value <= goal}
    return out


def to_json(result: dict[str, Any]) -> bytes:
    return orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY)


def format_table(result: dict[str, Any]) -> str:
    """The human summary: one row per figure, with the goal and whether it was met."""
    stages, g = result["stages"], result["goals"]
    run = result["run"]

    def mark(key: str) -> str:
        return "met" if g[key]["met"] else "MISSED"

    lines = [f"riskwatch bench ({run['mode']}): {run['events']:,} events, {run['partitions']} partitions, "
             f"{run['cpus']} CPUs, Python {run['python']}, {run['seconds']:.0f} s",
             "",
             f"{'stage':<20}{'events/s':>12}  {'ratio':<28}{'goal':>14}",
             f"{'raw_consume':<20}{stages['raw_consume']['events_per_s']:>12,.0f}",
             f"{'framework_ceiling':<20}{stages['framework_ceiling']['events_per_s']:>12,.0f}",
             f"{'worker':<20}{stages['worker']['events_per_s']:>12,.0f}  "
             f"{'over_framework ' + format(stages['worker']['over_framework'], '.2f'):<28}"
             f"{'>= 10,000 ' + mark('worker_events_per_s'):>14}",
             f"{'':<20}{'':>12}  {'over_raw ' + format(stages['worker']['over_raw'], '.3f'):<28}"
             f"{'>= 0.7 ' + mark('over_framework'):>14}",
             f"{'replay':<20}{stages['replay']['events_per_s']:>12,.0f}  {'':<28}"
             f"{'>= 150,000 ' + mark('replay_events_per_s'):>14}",
             "",
             f"{'figure':<34}{'value':>14}  goal"]
    lat, low = result["latency_ms"], result["latency_ms_low_rate"]
    rows = [
        (f"latency p50 at {lat['offered_events_per_s']:.0f} ev/s (ms)", f"{lat['p50']:,.1f}", "<= 20", "latency_p50_ms"),
        (f"latency p99 at {lat['offered_events_per_s']:.0f} ev/s (ms)", f"{lat['p99']:,.1f}", "<= 100", "latency_p99_ms"),
        (f"latency p50 / p99 at {low['offered_events_per_s']:.0f} ev/s (ms)", f"{low['p50']:,.0f} / {low['p99']:,.0f}",
         "", None),
        (f"bytes per entity ({result['entities']:,.0f} entities)", f"{result['bytes_per_entity']:,.0f}", "<= 1,024",
         "bytes_per_entity"),
        ("restart_s (with those entities)", f"{result['restart_s']:.1f}", "<= 60", "restart_s"),
        ("startup_s (empty state)", f"{result['startup_s']:.1f}", "<= 10", "startup_s"),
        ("scale_2_over_1", f"{result['scale_2_over_1']:.2f}", ">= 1.7", "scale_2_over_1"),
    ]
    for label, value, goal, key in rows:
        lines.append(f"{label:<34}{value:>14}  {goal} {mark(key) if key else ''}".rstrip())
    return "\n".join(lines)
