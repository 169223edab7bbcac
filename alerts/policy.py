"""The alert policy's configuration: escalation, deadlines, clearing, retention.

Defaults a risk team would accept; overridden by the ``alert_policy`` section
of the thresholds file, and part of the configuration version every alert
carries.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from detectors.base import Tier

HOUR = 3600.0
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class AlertPolicyConfig:
    #: Window (event time) within which one subject's alerts are seen together.
    correlation_window_s: float = 7 * DAY
    #: This many distinct alerts of one typology on one subject within the window raise the tier by one.
    repeat_alerts: int = 3
    #: This many distinct typologies on one subject within the window raise the tier by one.
    combined_typologies: int = 2
    #: Response deadline per tier (event time from the alert opening to acknowledgement).
    #: Tiers not listed have no deadline. The business target is 24 h; critical is shorter.
    ack_deadline_s: dict[str, float] = field(default_factory=lambda: {"high": 24 * HOUR, "critical": 4 * HOUR})
    #: An alert with no new finding for this long (event time) has cleared: it is resolved.
    clear_after_s: float = 7 * DAY
    #: Resolved alerts are remembered this long, so a late or re-delivered finding
    #: for the same id does not open it again.
    retention_s: float = 30 * DAY
    #: At most this many event ids are kept in one alert's evidence.
    max_event_ids: int = 200

    def __post_init__(self) -> None:
        if self.repeat_alerts < 2 or self.combined_typologies < 2:
            raise ValueError("repeat_alerts and combined_typologies must be at least 2")
        for tier, seconds in self.ack_deadline_s.items():
            Tier(tier)
            if not seconds > 0:
                raise ValueError(f"ack_deadline_s[{tier!r}] must be positive")
        object.__setattr__(self, "ack_deadline_s", {t: float(s) for t, s in self.ack_deadline_s.items()})
        if min(self.correlation_window_s, self.clear_after_s, self.retention_s) <= 0:
            raise ValueError("windows must be positive")
