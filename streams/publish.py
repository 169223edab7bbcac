"""Produce generated events to the input topics with kafka-python, optionally at a fixed rate."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import orjson
from kafka import KafkaProducer

from streams.settings import Settings


def event_producer(settings: Settings) -> KafkaProducer:
    # acks=1 and no idempotence: the embedded broker has no idempotent producer.
    return KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks=1, linger_ms=5,
                         batch_size=256 * 1024, max_in_flight_requests_per_connection=1,
                         client_id="riskwatch-generate", **settings.kafka_client_config)


def produce(settings: Settings, events: Iterable, rate: float | None = None,
            should_stop: Callable[[], bool] = lambda: False) -> int:
    """Send each generated event to its stream's topic, keyed as the generator says.

    ``rate`` is events per second of wall time (None: as fast as the producer
    goes). Returns the number of events sent; all are flushed on return.
    """
    topics = settings.topics.inputs
    producer = event_producer(settings)
    sent = 0
    started = time.monotonic()
    try:
        for generated in events:
            if should_stop():
                break
            producer.send(topics[generated.stream], key=generated.key.encode(), value=orjson.dumps(generated.event))
            sent += 1
            if rate:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0.005:
                    time.sleep(ahead)
        producer.flush()
    finally:
        producer.close()
    return sent


def produce_registry(settings: Settings, records: Iterable[dict]) -> int:
    """Send partner registry records (JSON-ready dicts) to ``partner.registry``, keyed by partner id."""
    producer = event_producer(settings)
    sent = 0
    try:
        for record in records:
            producer.send(settings.topics.partner_registry, key=record["partner_id"].encode(),
                          value=orjson.dumps(record))
            sent += 1
        producer.flush()
    finally:
        producer.close()
    return sent
