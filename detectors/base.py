"""The one interface every detector shares, its findings, and the registry.

A detector is a plain object built from its configuration. It keeps no state of
its own: the caller hands it the state of one entity (an account, an agent...)
and stores what it returns, so the faust worker (tables), ``replay`` (a dict)
and the tests all manage state the same way. State is a JSON-serialisable value
(dicts, lists, numbers, strings) or ``None`` for "nothing kept".

Contract (checked for every registered detector by
``tests/detectors/test_contract.py``):

* the same events in the same order give the same findings;
* state serialised with orjson and loaded again mid-stream gives identical
  findings afterwards;
* a duplicate event (same ``event_id``) is not counted twice, and events that
  arrive out of order within the detector's window give the same findings;
* state is bounded: ``advance`` drops what has left the window, and returns
  ``None`` once nothing is left, so the caller deletes the entity.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar

from detectors.events import Event

State = Any  # a JSON-serialisable value, or None


class Tier(str, Enum):
    """Alert tiers, following the blue/yellow/orange/red early-warning convention."""

    LOW = "low"  # blue
    MEDIUM = "medium"  # yellow
    HIGH = "high"  # orange: pages on-call
    CRITICAL = "critical"  # red: pages on-call at once

    @property
    def rank(self) -> int:
        return _TIER_RANK[self]


_TIER_RANK = {Tier.LOW: 0, Tier.MEDIUM: 1, Tier.HIGH: 2, Tier.CRITICAL: 3}


@dataclass(frozen=True, slots=True)
class Finding:
    """What a detector saw, before the tier policy turns it into an alert.

    ``window_start`` anchors the alert identity: the same detector, entity and
    window always give the same alert id, so a replay or a restart re-emits the
    same alert rather than a second one.
    """

    detector: str
    detector_version: str
    typology: str
    tier: Tier
    #: Why the detector proposes this tier, in one short phrase.
    tier_reason: str
    entity_type: str
    entity_id: str
    window_start: float
    #: Event time of the event that triggered the finding (epoch seconds).
    event_time: float
    score: float
    #: One line for people: what was seen, with identifiers only.
    summary: str
    #: The figures behind the finding and the ids of the events behind it.
    evidence: dict[str, Any] = field(default_factory=dict)
    #: Bounded dimensions for dashboards and routing (never customer ids).
    branch_id: str | None = None
    partner_id: str | None = None


class Detector(ABC):
    """Base class: configuration in, ``observe(event, state)`` out."""

    #: Registry name; also the ``detector`` field of findings.
    name: ClassVar[str]
    version: ClassVar[str]
    #: Event types this detector looks at; the engine routes only these.
    event_types: ClassVar[frozenset[str]]
    #: The kind of entity state is kept for (``account``, ``agent``...), or
    #: ``None`` for a stateless detector that sees every event on its own.
    keyspace: ClassVar[str | None]
    #: The entity type of findings when it is not the keyspace (e.g. state kept
    #: per branch to compare each agent with its peers, findings on the agent).
    finding_entity: ClassVar[str | None] = None
    #: Every typology its findings carry, when that is not just its ``typology``
    #: attribute (runbooks and documentation list them; see :func:`registered_typologies`).
    typologies: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def key(self, event: Event) -> str | None:
        """The entity id this event's state lives under, or None to skip it."""

    @abstractmethod
    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        """Fold one event into the entity's state; return new state and findings.

        May update ``state`` in place and return it. Must not call the clock.
        """

    def advance(self, state: State, watermark: float) -> tuple[State, list[Finding]]:
        """Event time has reached ``watermark``: drop what left the window and
        fire timers for absent events. Returns ``None`` once nothing is kept."""
        return state, []

    def due(self, state: State) -> float:
        """The lowest watermark at which :meth:`advance` may change ``state`` or find
        something: below it, advancing is a no-op, so the engine sweeps an entity only
        once event time reaches its due time (most entities wait for weeks, and a sweep
        of every entity at every boundary was most of the engine's time).

        The default is exact for a detector that keeps :meth:`advance` as it is (never
        due) and safe for one that overrides it (always due). A detector that overrides
        it must keep the promise: ``tests/detectors/test_due.py`` checks every detector
        against :meth:`advance` on generated streams."""
        return math.inf if type(self).advance is Detector.advance else -math.inf


def earliest(*times: Iterable[float]) -> float:
    """The lowest of ``times`` for :meth:`Detector.due`, or minus infinity when there is
    none: a state with nothing left to time is one that :meth:`Detector.advance` deletes."""
    return min((t for group in times for t in group), default=-math.inf)


DetectorFactory = Callable[[Any], Detector]

#: name -> (detector class, the attribute of DetectorConfig holding its config)
REGISTRY: dict[str, tuple[type[Detector], str]] = {}


def register(config_attr: str) -> Callable[[type[Detector]], type[Detector]]:
    """Class decorator: make a detector known to the engine and the contract test."""

    def decorate(cls: type[Detector]) -> type[Detector]:
        if cls.name in REGISTRY:
            raise ValueError(f"detector {cls.name!r} registered twice")
        REGISTRY[cls.name] = (cls, config_attr)
        return cls

    return decorate


def typologies_of(cls: type[Detector]) -> tuple[str, ...]:
    """The typologies a detector class declares: ``typologies``, else its ``typology``."""
    if cls.typologies:
        return cls.typologies
    typology = getattr(cls, "typology", None)
    return (typology,) if isinstance(typology, str) else ()


def registered_typologies() -> list[str]:
    """Every typology of every registered detector, sorted (each needs a runbook)."""
    return sorted({t for cls, _ in REGISTRY.values() for t in typologies_of(cls)})
