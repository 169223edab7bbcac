"""Create or check riskwatch's topics with kafka-python's admin client (idempotent)."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TopicStatus:
    name: str
    partitions: int | None  # None: missing
    created: bool = False


def admin_client(settings: Settings) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, client_id="riskwatch-admin",
                            request_timeout_ms=15_000, **settings.kafka_client_config)


def _partition_counts(admin: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for meta in admin.describe_topics(names):
        if not meta.get("error_code") and meta.get("partitions"):
            counts[meta["name"]] = len(meta["partitions"])
    return counts


def ensure_topics(settings: Settings, create: bool = True) -> list[TopicStatus]:
    """Create every missing topic (when ``create``) and report each one's partitions.

    Existing topics are left as they are, so this can run at every start.
    """
    wanted = settings.topics.all_topics()
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        created: set[str] = set()
        if create and missing:
            compacted = settings.topics.compacted
            new = [NewTopic(name=t, num_partitions=settings.partitions, replication_factor=1,
                            topic_configs={"cleanup.policy": "compact"} if t in compacted else {})
                   for t in missing]
            try:
                admin.create_topics(new, validate_only=False)
                created = set(missing)
            except TopicAlreadyExistsError:  # another process won the race
                created = set()
            log.info("created topics: %s", ", ".join(sorted(created)) or "none")
        present = [t for t in wanted if t in existing or t in created]
        counts = _partition_counts(admin, present) if present else {}
        return [TopicStatus(t, counts.get(t), t in created) for t in wanted]
    finally:
        admin.close()
