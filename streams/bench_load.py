"""The loads of ``riskwatch bench``: what is sent, and how it is sent and timed.

- the **main load**: generated business (:func:`streams.generator.generate`,
  its default scenario mix), read by every throughput stage;
- the **latency load**: more generated business in which every 50th event is a
  sale whose transcript holds a banned phrase, so it raises a critical alert
  from the stateless path at once;
- the **entity load**: one near-threshold cash premium per distinct policy,
  customer and payer account, so each event gives the stateful detectors new
  entities to keep;
- a **probe**: one valid event that no stateful detector keeps state for.

Event times lie in the past (the loads end before the bench started), so the
worker's future-time check never rejects them.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson
from kafka import KafkaProducer

from detectors.banned_phrases import load_phrases
from detectors.events import Event
from streams.codec import decode_event
from streams.engine import RiskEngine
from streams.generator import GeneratorConfig, GeneratedEvent, duration_days, generate, scale_scenarios
from streams.generator.model import iso_z

#: One event in this many of the latency load raises an alert at once.
ALERTING_EVERY = 50
DAY_S = 86_400.0


@dataclass
class Load:
    """Events as they go on the wire: ``(stream, key, value)``, in order."""

    messages: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    #: Position in ``messages`` -> id of an event whose alert the latency stage waits for.
    alerting: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.messages)

    @classmethod
    def of(cls, events: Iterable[GeneratedEvent]) -> "Load":
        return cls([(g.stream, g.key.encode(), orjson.dumps(g.event)) for g in events])

    def decoded(self) -> list[Event]:
        now = time.time()
        return [decode_event(value, stream, now) for stream, _key, value in self.messages]

    def keyed_messages(self, engine: RiskEngine) -> int:
        """Messages the worker re-keys for these events: what ``riskwatch_keyed_events_total`` reaches."""
        return sum(len(engine.routes(event)) for event in self.decoded())


def scenario_mix(events: int) -> dict[str, int]:
    """The generator's scenarios per 10,000 events, scaled down for smaller loads; from
    10,000 events on, its default mix (more scenarios outgrow its default population)."""
    return scale_scenarios(min(events, 10_000))


#: The generator needs some 1,700 events to hold its scenarios (a partner scorecard's
#: business alone is some 100): smaller loads are the first events of a 2,000-event day.
SMALLEST_GENERATED = 2_000


def generated_events(events: int, seed: int, start: float) -> list[GeneratedEvent]:
    size = max(events, SMALLEST_GENERATED)
    generated, _truth = generate(GeneratorConfig(seed=seed, events=size, start=start,
                                                 scenario_mix=scenario_mix(size)))
    return generated[:events]


def main_load(events: int, seed: int, start: float) -> Load:
    return Load.of(generated_events(events, seed, start))


def latency_load(events: int, seed: int, start: float, phrases_file: str = "") -> Load:
    """Generated business with every :data:`ALERTING_EVERY`-th event replaced by a
    sale (new policy, new event id) whose transcript holds a banned phrase."""
    generated = generated_events(max(events, SMALLEST_GENERATED), seed, start)
    template = next(g for g in generated if g.event["event_type"] == "sale_recorded")
    generated = generated[:events]
    phrase = load_phrases(phrases_file)[0]
    out: list[GeneratedEvent] = []
    alerting: dict[int, str] = {}
    for index, item in enumerate(generated):
        if index % ALERTING_EVERY == ALERTING_EVERY - 1:
            policy_id = f"PLBENCH{seed}{index:08d}"
            event_id = f"bench-latency-{seed}-{index}"
            event = {**template.event, "event_id": event_id, "event_time": item.event["event_time"],
                     "policy_id": policy_id, "transcript": f"代理人：这款产品{phrase}，您放心买。"}
            item = GeneratedEvent(policy_id, event)
            alerting[index] = event_id
        out.append(item)
    load = Load.of(out)
    load.alerting = alerting
    return load


def entity_load(events: int, start: float) -> Load:
    """``events`` cash premiums of 45,000 CNY, each on its own policy, customer and
    account (the policyholder's own), all within 50 minutes of event time from
    ``start``: less than the hourly sweep, so the load measures observing and
    keeping state, not sweeping it."""
    messages = []
    step = 3000.0 / max(events, 1)
    for i in range(events):
        policy = f"PLENT{i:09d}"
        event = {"schema_version": 1, "event_id": f"bench-entity-{i}", "event_type": "premium_paid",
                 "event_time": iso_z(int((start + i * step) * 1000)), "policy_id": policy,
                 "customer_id": f"CUENT{i:09d}", "payer_account_id": f"ACENT{i:09d}",
                 "policyholder_account_id": f"ACENT{i:09d}", "payee_account_id": "ACC-INSURER",
                 "amount": 45_000.0, "currency": "CNY", "channel": "cash"}
        messages.append(("payment", policy.encode(), orjson.dumps(event)))
    return Load(messages)


def probe(name: str, at: float) -> Load:
    """One valid claim settlement with no region: no stateful detector keeps state for it."""
    event = {"schema_version": 1, "event_id": f"bench-probe-{name}", "event_type": "claim_settled",
             "event_time": iso_z(int(at * 1000)), "policy_id": "PLPROBE", "customer_id": "CUPROBE",
             "claim_id": f"CLPROBE{name}", "claim_type": "health", "region": "BENCH", "amount": 100.0}
    return Load([("policy", b"PLPROBE", orjson.dumps(event))])


def timeline(events: int, latency_events: int, now: float) -> tuple[float, float]:
    """Start times (epoch s) of the main and latency loads, so both end a day before ``now``."""
    latency_start = now - (duration_days(latency_events) + 1) * DAY_S
    return latency_start - duration_days(events) * DAY_S, latency_start


def producer(bootstrap: list[str], linger_ms: int = 5) -> KafkaProducer:
    # acks=1 and no idempotence: the embedded broker has no idempotent producer.
    return KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=linger_ms, batch_size=256 * 1024,
                         max_in_flight_requests_per_connection=1, client_id="riskwatch-bench")


def send(bootstrap: list[str], topics: dict[str, str], load: Load) -> None:
    """Everything in ``load`` to the topics of its streams, as fast as the producer goes; flushed."""
    out = producer(bootstrap)
    try:
        for stream, key, value in load.messages:
            out.send(topics[stream], key=key, value=value)
        out.flush()
    finally:
        out.close()


def send_at_rate(bootstrap: list[str], topics: dict[str, str], load: Load, rate: float,
                 on_sent: Callable[[int, float], None]) -> float:
    """``load`` at ``rate`` events per second of wall time; ``on_sent(index, time.time())``
    just before each send. Returns the seconds it took."""
    out = producer(bootstrap, linger_ms=0)
    started = time.monotonic()
    try:
        for index, (stream, key, value) in enumerate(load.messages):
            ahead = index / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
            on_sent(index, time.time())
            out.send(topics[stream], key=key, value=value)
        out.flush()
    finally:
        out.close()
    return time.monotonic() - started
