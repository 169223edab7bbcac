"""Paging: high and critical alerts pushed to Alertmanager's v2 API.

:func:`to_alertmanager` is the pure mapping (labels for routing, grouping,
silences and inhibition; annotations for people). :class:`AlertmanagerPusher`
sends in the background: the stream only puts alerts on a bounded queue and
never waits for Alertmanager. A failed push is retried with exponential
backoff; when the queue is full the oldest alert waiting is dropped and
counted (it is still on the alert topic). Grouping, silences and routing are
Alertmanager's job (``deploy/alertmanager/alertmanager.yml``).
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import orjson

from alerts.model import Alert, AlertStatus, iso_time
from detectors.base import Tier

log = logging.getLogger(__name__)

PAGED_TIERS = frozenset({Tier.HIGH, Tier.CRITICAL})
#: How long Alertmanager keeps an unresolved alert firing without a new push.
FIRING_FOR_S = 7 * 86_400.0
MAX_EVIDENCE_CHARS = 2000


def pages(alert: Alert) -> bool:
    return alert.tier in PAGED_TIERS


def to_alertmanager(alert: Alert, now: float) -> dict[str, Any]:
    """The v2 ``postableAlert`` for ``alert``; ``now`` is wall-clock epoch seconds."""
    ends = now if alert.status == AlertStatus.RESOLVED else now + FIRING_FOR_S
    annotations = {
        "summary": alert.summary,
        "description": alert.tier_reason,
        "evidence": orjson.dumps(alert.evidence).decode()[:MAX_EVIDENCE_CHARS],
        "status": alert.status.value,
        "escalation_level": str(alert.escalation_level),
    }
    if alert.runbook_url:
        annotations["runbook_url"] = alert.runbook_url
    return {
        "labels": {
            "alertname": f"riskwatch_{alert.typology}",
            "tier": alert.tier.value,
            "typology": alert.typology,
            "branch": alert.branch_id or "none",
            "partner": alert.partner_id or "none",
            "entity_type": alert.entity_type,
            "entity": f"{alert.entity_type}:{alert.entity_id}",
            "alert_id": alert.alert_id,
        },
        "annotations": annotations,
        "startsAt": iso_time(alert.emitted_at if alert.status == AlertStatus.OPEN else now),
        "endsAt": iso_time(ends),
    }


class AlertmanagerPusher:
    """Background sender to ``{base_url}/api/v2/alerts``.

    ``on_result(ok, count)`` is called after every attempt (metrics);
    ``on_drop(count)`` when the queue overflows.
    """

    def __init__(self, base_url: str, on_result: Callable[[bool, int], None] = lambda ok, n: None,
                 on_drop: Callable[[int], None] = lambda n: None, max_queue: int = 10_000, batch: int = 100,
                 first_backoff_s: float = 0.5, max_backoff_s: float = 30.0,
                 clock: Callable[[], float] = lambda: datetime.now(timezone.utc).timestamp()) -> None:
        self.url = base_url.rstrip("/") + "/api/v2/alerts"
        self.on_result = on_result
        self.on_drop = on_drop
        self.queue: deque[Alert] = deque()
        self.max_queue = max_queue
        self.batch = batch
        self.first_backoff_s = first_backoff_s
        self.max_backoff_s = max_backoff_s
        self.clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def submit(self, alert: Alert) -> None:
        """Queue ``alert`` if it pages; never blocks."""
        if not pages(alert):
            return
        if len(self.queue) >= self.max_queue:
            self.queue.popleft()
            self.on_drop(1)
        self.queue.append(alert)
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        import aiohttp

        backoff = self.first_backoff_s
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while True:
                if not self.queue:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                batch = [self.queue[i] for i in range(min(self.batch, len(self.queue)))]
                body = orjson.dumps([to_alertmanager(a, self.clock()) for a in batch])
                try:
                    async with session.post(self.url, data=body, headers={"Content-Type": "application/json"}) as r:
                        ok = r.status == 200
                        if not ok:
                            log.warning("Alertmanager refused %d alerts: HTTP %d", len(batch), r.status)
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                    ok = False
                    log.warning("Alertmanager push of %d alerts failed (%s); retrying in %.1f s",
                                len(batch), type(exc).__name__, backoff)
                self.on_result(ok, len(batch))
                if ok:
                    sent = {id(a) for a in batch}
                    while self.queue and id(self.queue[0]) in sent:  # overflow may have dropped some meanwhile
                        self.queue.popleft()
                    backoff = self.first_backoff_s
                else:
                    await asyncio.sleep(backoff)
                    backoff = min(self.max_backoff_s, backoff * 2)
