"""``riskwatch partners``: publish registry records to ``partner.registry`` and show one partner.

Thin functions the CLI and the tests call. ``load`` takes a JSON-lines file
(a registry file, or a history file whose registry records sit among its
events: lines without ``record_type`` are skipped), validates every record
with the worker's codec, and publishes the valid ones keyed by partner id.
``show`` reads the registry topic to idleness (the embedded broker's end
offsets are unreliable) and prints the partner's latest record with its
status now.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from kafka import KafkaConsumer, TopicPartition

from detectors.registry import PartnerRecord, PartnerRegistry, iso_time
from streams.codec import InvalidEvent, load_object
from streams.partner_codec import decode_partner_record, partner_record_from_object
from streams.publish import event_producer
from streams.settings import Settings


@dataclass
class LoadResult:
    published: int = 0
    #: (line number, reason, message) of each record that failed validation.
    rejected: list[tuple[int, str, str]] = field(default_factory=list)


def registry_lines(path: Path) -> tuple[list[tuple[PartnerRecord, bytes]], list[tuple[int, str, str]]]:
    """The valid registry records of a JSON-lines file (with their line) and the failures."""
    valid, rejected = [], []
    with open(path, "rb") as source:
        for number, line in enumerate(source, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                data = load_object(line, "a line")
                if "record_type" not in data:
                    continue  # an event of a history file
                valid.append((partner_record_from_object(data), line))
            except InvalidEvent as error:
                rejected.append((number, error.reason, error.message))
    return valid, rejected


def load_registry(settings: Settings, path: Path) -> LoadResult:
    """Publish the valid registry records of ``path`` to ``partner.registry``, keyed by partner id."""
    valid, rejected = registry_lines(path)
    producer = event_producer(settings)
    try:
        for record, line in valid:
            producer.send(settings.topics.partner_registry, key=record.partner_id.encode(), value=line)
        producer.flush()
    finally:
        producer.close()
    return LoadResult(len(valid), rejected)


def read_registry(settings: Settings, idle_s: float = 2.0, timeout_s: float = 60.0) -> PartnerRegistry:
    """The registry as the topic holds it: every valid record, the latest of each partner winning."""
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                             group_id=None, fetch_max_wait_ms=100, client_id="riskwatch-partners",
                             **settings.kafka_client_config)
    registry = PartnerRegistry()
    try:
        topic = settings.topics.partner_registry
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        deadline, last = time.monotonic() + timeout_s, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last < idle_s:
            batch = consumer.poll(timeout_ms=200)
            for records in batch.values():
                last = time.monotonic()
                for message in records:
                    try:
                        registry.apply(decode_partner_record(message.value or b""))
                    except InvalidEvent:
                        continue  # the worker dead-letters it
        return registry
    finally:
        consumer.close()


def describe_partner(record: PartnerRecord, now: float, scorecard: dict | None = None) -> dict:
    """What ``partners show`` prints: the record, the status in force at ``now``, and the
    partner's latest scorecard (its newest quarter on ``risk.scorecards``; None if none yet)."""
    standing = record.standing(now)
    data = record.to_dict()
    data["qualification_valid_until"] = (iso_time(record.qualification_valid_until)
                                         if record.qualification_valid_until is not None else None)
    data["status_changes"] = [{"status": c.status, "reason": c.reason, "effective_time": iso_time(c.effective_time)}
                              for c in record.status_changes]
    return {
        "record": data,
        "current": {"at": iso_time(now), "status": standing.status, "reason": standing.status_reason,
                    "since": iso_time(standing.status_since) if standing.status_since is not None else None,
                    "may_do_business": standing.status == "active" and not standing.qualification_expired(now),
                    "qualification_expired": standing.qualification_expired(now)},
        "scorecard": scorecard,
    }


def latest_scorecard(settings: Settings, partner_id: str, idle_s: float = 2.0) -> dict | None:
    """The newest quarter's latest scorecard of ``partner_id`` on the scorecards topic."""
    from streams.tail import tail_alerts

    latest: dict[str, dict] = {}

    def keep(card: dict, _raw: bytes) -> None:
        if isinstance(card, dict) and card.get("scope") == "partner" and card.get("id") == partner_id:
            latest[str(card.get("period"))] = card  # later records of a quarter replace earlier ones

    tail_alerts(settings, from_beginning=True, idle_timeout_s=idle_s, on_alert=keep, topic=settings.topics.scorecards)
    return latest[max(latest)] if latest else None


def show_partner(settings: Settings, partner_id: str, now: float | None = None) -> dict | None:
    record = read_registry(settings).record(partner_id)
    if record is None:
        return None
    return describe_partner(record, time.time() if now is None else now, latest_scorecard(settings, partner_id))


def render(description: dict) -> bytes:
    return orjson.dumps(description, option=orjson.OPT_INDENT_2)
