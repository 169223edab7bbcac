"""``riskwatch replay``: a JSON-lines file of events through the same engine, no broker."""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import orjson

from alerts.policy import AlertPolicyConfig
from detectors.config import DetectorConfig
from detectors.events import Event
from streams.codec import InvalidEvent, decode_event
from streams.engine import RiskEngine, run_events


@dataclass
class ReplayResult:
    events: int = 0
    rejected: int = 0
    alerts: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)


def decoded_lines(source: BinaryIO, dlq: BinaryIO | None, result: ReplayResult, now: float,
                  max_future_skew_s: float = 86_400.0) -> Iterator[Event]:
    """Events of a JSON-lines file; a line that fails goes to ``dlq`` with its line number and reason."""
    for number, line in enumerate(source, start=1):
        line = line.rstrip(b"\r\n")
        if not line.strip():
            continue
        try:
            event = decode_event(line, None, now, max_future_skew_s)
        except InvalidEvent as error:
            result.rejected += 1
            result.rejected_by_reason[error.reason] = result.rejected_by_reason.get(error.reason, 0) + 1
            if dlq is not None:
                dlq.write(orjson.dumps({"line": number, "reason": error.reason, "error": str(error),
                                        "raw": line.decode("utf-8", "backslashreplace")}) + b"\n")
            continue
        result.events += 1
        yield event


def replay(events_path: Path, out_path: Path, dlq_path: Path | None, config: DetectorConfig,
           max_future_skew_s: float = 86_400.0, policy: AlertPolicyConfig | None = None) -> ReplayResult:
    """Write the alerts for ``events_path`` to ``out_path`` as JSON lines, tiered by ``policy`` (the
    worker's alert policy: escalation, deadlines), the default one if None."""
    result = ReplayResult()
    engine = RiskEngine(config, policy=policy)
    with open(events_path, "rb") as source, open(out_path, "wb") as out:
        dlq = open(dlq_path, "wb") if dlq_path else None
        try:
            events = decoded_lines(source, dlq, result, time.time(), max_future_skew_s)
            for alert in run_events(engine, events):
                out.write(alert.to_json() + b"\n")
                result.alerts += 1
        finally:
            if dlq is not None:
                dlq.close()
    return result
