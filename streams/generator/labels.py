"""Truth for the facts of the generated data that raise alerts wherever they occur.

Some typologies are facts of the data rather than patterns: a failed callback,
a complaint in the mis-selling category, a policy with no successful callback
72 hours after issue, a complaint past its handling deadline, a claim that
missed its service target. The background contains a few of them, as real
business does, and scenario families other than the service ones produce them
too (an agent whose callbacks fail, a policy issued with no callback yet on a
week-long timeline). :func:`label_facts` writes a truth record for each such
fact in the finished event list that no truth record covers yet, with its own
reading of the rules (from the detectors' default configuration, as the
background reads the structuring band):

* ``callback_failed``: each ``callback_failed`` event, on its policy;
* ``mis_selling_complaint``: each ``complaint_filed`` of a mis-selling category;
* ``callback_missing``, ``complaint_overdue``, ``claim_settlement_late``,
  ``claim_contact_late``: an opening event whose closing event comes after the
  deadline, or not at all while the run's sweeps pass the deadline. The sweeps
  are those of the replay loop (``streams.engine.run_events``: to each hour
  boundary of event time, once an event reaches it), so a deadline after the
  last boundary the run reaches is not labelled, exactly as the replay decides.

Patterns (spikes, rates, outliers) are labelled by the scenarios that build them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from detectors.callbacks import CallbackConfig
from detectors.claims_service import ClaimServiceConfig
from detectors.complaint_deadline import ComplaintDeadlineConfig
from detectors.mis_selling_complaints import MisSellingComplaintConfig
from streams.watermarks import SweepGrid
from streams.generator.model import GeneratedEvent, TruthRecord

CALLBACKS = CallbackConfig()
COMPLAINTS = ComplaintDeadlineConfig()
CLAIMS = ClaimServiceConfig()
MIS_SELLING = MisSellingComplaintConfig()


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    """Which events open a clock (and how long it runs, seconds) and which stop it."""

    typology: str
    entity_type: str
    #: event -> (episode key, entity id, seconds) or None
    opens: Callable[[dict], tuple[str, str, float] | None]
    #: event -> episode key or None
    closes: Callable[[dict], str | None]


def _complaint_deadline_s(event: dict) -> float:
    if COMPLAINTS.use_event_deadline and event.get("deadline_hours") is not None:
        return event["deadline_hours"] * 3600.0
    return COMPLAINTS.deadline_by_category_s.get(event.get("category"), COMPLAINTS.default_deadline_s)


def _small_motor(event: dict) -> bool:
    return event.get("claim_type") == "motor" and event.get("amount", CLAIMS.small_motor_cny) < CLAIMS.small_motor_cny


RULES = (
    DeadlineRule(
        "callback_missing", "policy",
        lambda e: (e["policy_id"], e["policy_id"], CALLBACKS.deadline_s) if e["event_type"] == "policy_issued" else None,
        lambda e: e["policy_id"] if e["event_type"] == "callback_completed" else None),
    DeadlineRule(
        "complaint_overdue", "complaint",
        lambda e: ((e["complaint_id"], e["complaint_id"], _complaint_deadline_s(e))
                   if e["event_type"] == "complaint_filed" else None),
        lambda e: e["complaint_id"] if e["event_type"] == "complaint_resolved" else None),
    DeadlineRule(
        "claim_settlement_late", "policy",
        lambda e: ((e["claim_id"], e["policy_id"], CLAIMS.motor_settlement_s)
                   if e["event_type"] == "claim_reported" and _small_motor(e) else None),
        lambda e: e["claim_id"] if e["event_type"] == "claim_settled" and e.get("claim_type") == "motor" else None),
    DeadlineRule(
        "claim_contact_late", "policy",
        lambda e: ((e["claim_id"], e["policy_id"], CLAIMS.injury_contact_s)
                   if e["event_type"] == "claim_reported" and e.get("claim_type") == "injury" else None),
        lambda e: (e["claim_id"] if e["event_type"] in ("claim_contacted", "claim_settled")
                   and e.get("claim_type") == "injury" else None)),
)


def sweep_times(times: Iterable[float]) -> list[float]:
    """The boundaries to which the replay loop sweeps, for events in time order."""
    grid = SweepGrid()
    return [b for b in (grid.due(t) for t in times) if b is not None]


def _covered(truths: list[TruthRecord], typology: str, entity_type: str, entity_id: str, start: float,
             end: float) -> bool:
    return any(t.typology == typology and t.entity_type == entity_type and t.entity_id == entity_id
               and not t.benign and t.start <= end and start <= t.end for t in truths)


def label_facts(events: list[GeneratedEvent], truths: list[TruthRecord]) -> list[TruthRecord]:
    """Truth records for the facts in ``events`` (sorted by time) that ``truths`` do not cover."""
    timed = [(e.time, e.event) for e in events]
    sweeps = sweep_times(t for t, _ in timed)
    last_sweep = sweeps[-1] if sweeps else float("-inf")
    found: list[tuple[str, str, str, float, float]] = []
    for t, event in timed:
        if event["event_type"] == "callback_failed":
            found.append(("callback_failed", "policy", event["policy_id"], t, t))
        elif event["event_type"] == "complaint_filed" and event.get("category") in MIS_SELLING.categories:
            found.append(("mis_selling_complaint", "complaint", event["complaint_id"], t, t))
    for rule in RULES:
        opened: dict[str, tuple[float, str, float]] = {}
        closed: dict[str, float] = {}
        for t, event in timed:
            opening = rule.opens(event)
            if opening is not None and opening[0] not in opened:
                opened[opening[0]] = (t, opening[1], t + opening[2])
            key = rule.closes(event)
            if key is not None and key not in closed:
                closed[key] = t
        for key, (start, entity, deadline) in opened.items():
            done = closed.get(key)
            if done is not None and done > deadline:
                found.append((rule.typology, rule.entity_type, entity, start, done))
            elif done is None and deadline <= last_sweep:
                found.append((rule.typology, rule.entity_type, entity, start, deadline))
    out: list[TruthRecord] = []
    counts: dict[str, int] = {}
    for typology, entity_type, entity, start, end in sorted(found, key=lambda f: (f[3], f[0], f[2])):
        if _covered(truths, typology, entity_type, entity, start, end):
            continue
        counts[typology] = counts.get(typology, 0) + 1
        out.append(TruthRecord(f"{typology}-fact-{counts[typology]:04d}", typology, entity_type, entity, start, end,
                               False))
    return out
