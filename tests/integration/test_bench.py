"""``riskwatch bench --quick --json`` as CI's smoke test: every stage produces its
figures (how fast is the full bench's business, README "Performance")."""
from __future__ import annotations

import math
import subprocess
import sys

import orjson
import pytest

pytestmark = pytest.mark.integration

#: Figures that must be positive numbers, as paths into the JSON object.
POSITIVE = [
    ("stages", "raw_consume", "events_per_s"),
    ("stages", "framework_ceiling", "events_per_s"),
    ("stages", "worker", "events_per_s"),
    ("stages", "worker", "over_framework"),
    ("stages", "worker", "over_raw"),
    ("stages", "replay", "events_per_s"),
    ("latency_ms", "offered_events_per_s"),
    ("latency_ms", "p50"),
    ("latency_ms", "p99"),
    ("bytes_per_entity",),
    ("entities",),
    ("restart_s",),
    ("startup_s",),
    ("scale_2_over_1",),
]


def _at(result: dict, path: tuple[str, ...]):
    value = result
    for key in path:
        assert key in value, f"{'.'.join(path)} missing from the bench output"
        value = value[key]
    return value


def _bench_quick(timeout_s: float = 120.0) -> tuple[int, bytes, bytes]:
    """Run the quick bench; on timeout SIGTERM it, so that it stops the broker and workers it started."""
    process = subprocess.Popen([sys.executable, "-m", "streams.cli", "bench", "--quick", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.terminate()
        out, err = process.communicate(timeout=60)
        pytest.fail(f"riskwatch bench --quick took over {timeout_s:.0f} s:\n{err.decode(errors='replace')[-3000:]}")
    return process.returncode, out, err


def test_quick_bench_reports_every_figure():
    code, out, err = _bench_quick()
    assert code == 0, err.decode(errors="replace")[-3000:]
    result = orjson.loads(out)
    for path in POSITIVE:
        value = _at(result, path)
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{'.'.join(path)} = {value!r}"
        assert math.isfinite(value) and value > 0, f"{'.'.join(path)} = {value!r}"
    assert result["latency_ms"]["offered_events_per_s"] == 1000
    assert result["latency_ms"]["p99"] >= result["latency_ms"]["p50"]
    assert result["stages"]["worker"]["events"] == result["stages"]["replay"]["events"] == result["run"]["events"]
    assert set(result["goals"]) == {"worker_events_per_s", "over_framework", "replay_events_per_s", "latency_p50_ms",
                                    "latency_p99_ms", "bytes_per_entity", "restart_s", "startup_s", "scale_2_over_1"}
    # The table went to stderr, leaving stdout one JSON object.
    assert b"framework_ceiling" in err
