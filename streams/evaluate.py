"""``riskwatch evaluate generated``: detection quality on a labelled generated history.

The generator writes ground truth (scenario, entity, event-time window); the
events run through the very engine the worker runs. An alert *matches* a truth
record when typology, entity type and entity id agree and the alert's event
time lies in the record's window (plus :data:`MATCH_SLACK_S` for detectors that
fire on a later event, such as a timer). Per typology:

* ``scenarios``: non-benign truth records; ``benign``: look-alikes;
* ``alerts``: distinct alert ids (an escalated alert keeps its id: one alert);
* ``precision``: alerts that match a non-benign record / alerts;
* ``recall``: non-benign records matched by at least one alert / scenarios;
* ``f1``; ``median_delay_s``: event time of the first matching alert minus the
  record's ``start`` (its first evidence event), median over detected scenarios.

A typology with no alerts has precision 1.0 if it has no scenarios either
(nothing claimed, nothing missed), else 0.0.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from alerts.model import Alert
from detectors.config import DetectorConfig
from streams.codec import decode_event
from streams.engine import RiskEngine, run_events
from streams.partner_codec import partner_record_from_object
from streams.progress import Progress

#: How long after a truth window's end an alert still counts as its detection.
MATCH_SLACK_S = 96 * 3600.0


@dataclass
class TypologyScore:
    scenarios: int = 0
    benign: int = 0
    alerts: int = 0
    true_alerts: int = 0
    detected: int = 0
    delays_s: list[float] = field(default_factory=list)

    @property
    def precision(self) -> float:
        if self.alerts == 0:
            return 1.0 if self.scenarios == 0 else 0.0
        return self.true_alerts / self.alerts

    @property
    def recall(self) -> float:
        return 1.0 if self.scenarios == 0 else self.detected / self.scenarios

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    def to_dict(self) -> dict:
        return {
            "scenarios": self.scenarios, "benign": self.benign, "alerts": self.alerts,
            "precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4),
            "median_delay_s": round(statistics.median(self.delays_s), 1) if self.delays_s else None,
        }


def _matches(alert: Alert, record) -> bool:
    return (alert.typology == record.typology and alert.entity_type == record.entity_type
            and alert.entity_id == record.entity_id
            and record.start - 1e-6 <= alert.event_time <= record.end + MATCH_SLACK_S)


def score_alerts(alerts: Iterable[Alert], truth: list) -> dict[str, TypologyScore]:
    """Per-typology scores of ``alerts`` (duplicates by id count once) against ``truth``."""
    first_by_id: dict[str, Alert] = {}
    for alert in alerts:
        first_by_id.setdefault(alert.alert_id, alert)
    scores: dict[str, TypologyScore] = {}
    for record in truth:
        score = scores.setdefault(record.typology, TypologyScore())
        if record.benign:
            score.benign += 1
        else:
            score.scenarios += 1
    real = [r for r in truth if not r.benign]
    first_match: dict[int, float] = {}
    for alert in first_by_id.values():
        score = scores.setdefault(alert.typology, TypologyScore())
        score.alerts += 1
        hits = [i for i, r in enumerate(real) if _matches(alert, r)]
        if hits:
            score.true_alerts += 1
        for i in hits:
            first_match[i] = min(first_match.get(i, alert.event_time), alert.event_time)
    for i, at in first_match.items():
        score = scores[real[i].typology]
        score.detected += 1
        score.delays_s.append(at - real[i].start)
    return dict(sorted(scores.items()))


def evaluate_generated(seed: int, events: int | None = None, config: DetectorConfig | None = None,
                       progress: Progress | None = None) -> dict:
    """Generate a labelled history, run it through the engine, and score it (the JSON of the command).

    ``progress``, when given, advances once per event run through the engine."""
    from streams.generator import GeneratorConfig, generate_with_registry

    gen_config = GeneratorConfig(seed=seed) if events is None else GeneratorConfig(seed=seed, events=events)
    started = time.perf_counter()
    generated, truth, registry = generate_with_registry(gen_config)
    now = time.time()
    # The registry first, as the generator publishes it: status changes take effect by their effective times.
    decoded = [partner_record_from_object(r) for r in registry]
    decoded += [decode_event(orjson.dumps(g.event), None, now) for g in generated]
    if progress is not None:
        progress.total = len(decoded)
    alerts = list(run_events(RiskEngine(config or DetectorConfig(), clock=lambda: now),
                             decoded if progress is None else progress.each(decoded)))
    scores = score_alerts(alerts, truth)
    return {
        "seed": seed,
        "events": len(generated),
        "seconds": round(time.perf_counter() - started, 2),
        "typologies": {name: score.to_dict() for name, score in scores.items()},
    }


def format_table(result: dict) -> str:
    lines = [f"seed {result['seed']}, {result['events']} events, {result['seconds']} s",
             f"{'typology':28} {'scen':>5} {'benign':>6} {'alerts':>6} {'prec':>6} {'recall':>6} {'f1':>6} {'delay_s':>9}"]
    for name, row in result["typologies"].items():
        delay = "-" if row["median_delay_s"] is None else f"{row['median_delay_s']:.0f}"
        lines.append(f"{name:28} {row['scenarios']:5d} {row['benign']:6d} {row['alerts']:6d} {row['precision']:6.3f} "
                     f"{row['recall']:6.3f} {row['f1']:6.3f} {delay:>9}")
    return "\n".join(lines)
