"""New-policy callbacks: a failed callback, and a policy with no successful callback in time.

The business rule: every new policy gets a callback (回访) within 72 hours of
issue, and a failed callback blocks underwriting until one succeeds. Per
policy (``policy_issued``, ``callback_completed``, ``callback_failed``):

* ``callback_failed`` (low by default): each failed callback raises an alert at
  once, for the callback centre and the sales system; the alert's window is the
  failed attempt itself, so two failed attempts are two alerts. A later
  successful callback does not cancel it.
* ``callback_missing`` (medium by default): no ``callback_completed`` within
  ``deadline_s`` (72 h) of ``policy_issued``, in event time. This is an
  absence: the timer is in the policy's state and fires from ``advance`` (see
  :mod:`detectors.absence`). A callback completed at 71 h meets the deadline;
  one completed at 73 h raises the alert when it arrives (if the sweep has not
  already). A failed callback neither meets the deadline nor moves it.

A callback for a policy whose issue the detector never saw (issued before the
stream began) raises nothing but a failure alert.
"""
from __future__ import annotations

from dataclasses import dataclass

from detectors.absence import DAY, HOUR, DeadlineDetector, Opening, event_ids
from detectors.base import Finding, State, Tier, register
from detectors.events import Event

FAILED = "callback_failed"
MISSING = "callback_missing"


@dataclass(frozen=True, slots=True)
class CallbackConfig:
    #: A successful callback is due this long after the policy is issued.
    deadline_s: float = 72 * HOUR
    failed_tier: str = Tier.LOW.value
    missing_tier: str = Tier.MEDIUM.value
    #: How long a decided policy is remembered (duplicate deliveries).
    retention_s: float = 7 * DAY

    def __post_init__(self) -> None:
        if self.deadline_s <= 0 or self.retention_s <= 0:
            raise ValueError("deadline_s and retention_s must be positive")
        Tier(self.failed_tier)
        Tier(self.missing_tier)


@register("callbacks")
class CallbackDetector(DeadlineDetector):
    """Failed callbacks at once, and policies with no successful callback
    ``deadline_s`` after issue; state is kept per policy.

    >>> from detectors.events import Event
    >>> d = CallbackDetector(CallbackConfig())
    >>> issued = Event("e1", "policy_issued", "policy", 0.0, policy_id="P1", agent_id="A1")
    >>> state, _ = d.observe(issued, None)
    >>> state, found = d.advance(state, 71 * 3600.0)
    >>> found
    []
    >>> state, found = d.advance(state, 72 * 3600.0)
    >>> found[0].typology, found[0].event_time, found[0].evidence["failed_attempts"]
    ('callback_missing', 259200.0, 0)
    """

    name = "callbacks"
    typologies = (FAILED, MISSING)
    version = "1"
    event_types = frozenset({"policy_issued", "callback_completed", "callback_failed"})
    keyspace = "policy"
    typology = MISSING

    def key(self, event: Event) -> str | None:
        return event.policy_id

    def opening(self, event: Event) -> Opening | None:
        if event.event_type != "policy_issued" or event.policy_id is None:
            return None
        return Opening(event.policy_id, self.config.deadline_s, _dimensions(event))

    def closing(self, event: Event) -> str | None:
        return event.policy_id if event.event_type == "callback_completed" else None

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        if event.event_type != "callback_failed":
            return super().observe(event, state)
        if event.policy_id is None:
            return state, []
        state, ep = self.episode(state, event, event.policy_id)
        if not self.note(ep, event):
            return state, []  # the same failed attempt delivered again
        attempts = sum(1 for n in ep["a"] if n[0] <= event.time)
        reason = event.callback_reason or "not given"
        return state, [Finding(
            detector=self.name,
            detector_version=self.version,
            typology=FAILED,
            tier=Tier(self.config.failed_tier),
            tier_reason="a failed callback blocks underwriting until one succeeds",
            entity_type="policy",
            entity_id=event.policy_id,
            window_start=event.time,
            event_time=event.time,
            score=float(attempts),
            summary=f"policy {event.policy_id} (agent {event.agent_id}): callback failed ({reason[:40]}), "
                    f"attempt {attempts}",
            evidence={"reason": reason[:80], "failed_attempts": attempts, "agent_id": event.agent_id,
                      "product_id": event.product_id, "event_ids": [event.event_id]},
            branch_id=event.branch_id,
            partner_id=event.partner_id,
        )]

    def overdue(self, entity: str, episode_id: str, episode: dict, event_time: float,
                trigger: Event | None) -> Finding:
        cfg = self.config
        failed = sum(1 for n in episode["a"] if n[0] <= episode["d"])
        hours = cfg.deadline_s / HOUR
        late = episode["c"]
        what = f"callback completed {(late - episode['o']) / HOUR:.1f} h after issue" if late is not None \
            else "no successful callback"
        return Finding(
            detector=self.name,
            detector_version=self.version,
            typology=MISSING,
            tier=Tier(cfg.missing_tier),
            tier_reason=f"no successful callback within {hours:.0f} h of issue",
            entity_type="policy",
            entity_id=entity,
            window_start=episode["o"],
            event_time=event_time,
            score=float(failed + 1),
            summary=f"policy {entity} (agent {episode['x'].get('agent_id')}): {what} "
                    f"(due {hours:.0f} h after issue; {failed} failed attempts)",
            evidence={"issued_at": episode["o"], "deadline": episode["d"], "deadline_hours": hours,
                      "completed_at": late, "failed_attempts": failed, **episode["x"],
                      "event_ids": event_ids(episode, trigger)},
            branch_id=episode["x"].get("branch_id"),
            partner_id=episode["x"].get("partner_id"),
        )


def _dimensions(event: Event) -> dict[str, str | None]:
    """The identifiers a policy's finding carries (no personal data)."""
    return {"agent_id": event.agent_id, "branch_id": event.branch_id, "partner_id": event.partner_id,
            "product_id": event.product_id}
