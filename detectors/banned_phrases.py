"""Banned and misleading phrases in a sale's recording transcript (dual recording).

The sales system consumes these alerts to block the sale, so every hit is
``critical``. Phrases come from a data file; both the phrases and the
transcript are folded (NFKC, case, whitespace and punctuation removed) so that
"稳 赚 不 赔", "ＧＵＡＲＡＮＴＥＥＤ　return" and "risk free" match their listed form.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from detectors.base import Detector, Finding, State, Tier, register
from detectors.datafiles import read_data_file
from detectors.events import Event
from detectors.text import fold, fold_with_positions

TYPOLOGY = "misleading_sales_phrase"

#: A listed phrase right after one of these (folded) is a compliant disclosure,
#: not a claim: "本产品不保证收益", "there is no guaranteed return".
NEGATIONS = ("不", "非", "没有", "并无", "无法", "不能", "不会", "不是", "not", "no", "never", "isnt", "arent",
             "doesnt", "dont", "cannot")


@dataclass(frozen=True, slots=True)
class BannedPhraseConfig:
    #: Phrase list, one per line; empty means the list shipped with riskwatch.
    phrases_file: str = ""
    #: At most this many transcript characters are quoted either side of a hit.
    context_chars: int = 12
    tier: str = Tier.CRITICAL.value
    #: Ignore a phrase directly preceded by a negation (see NEGATIONS).
    skip_negated: bool = True

    def __post_init__(self) -> None:
        if self.context_chars < 0 or self.context_chars > 40:
            raise ValueError("context_chars must be between 0 and 40")
        Tier(self.tier)


def load_phrases(phrases_file: str = "") -> list[str]:
    """The phrase list: non-empty, non-comment lines of the file."""
    text = read_data_file("banned_phrases.txt", phrases_file).decode("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@dataclass(frozen=True, slots=True)
class PhraseHit:
    """One listed phrase found in a transcript; ``start``/``end`` index the original text."""

    phrase: str
    start: int
    end: int


class PhraseMatcher:
    """The phrase list, folded, and the search of a transcript for it.

    One home for the matching: the banned-phrase detector and the agent
    integrity score both use it, so a phrase counts the same way in both.

    >>> [h.phrase for h in PhraseMatcher().search("稳 赚 不 赔，不保证收益")]
    ['稳赚不赔']
    """

    def __init__(self, phrases_file: str = "", skip_negated: bool = True) -> None:
        self.skip_negated = skip_negated
        folded: dict[str, str] = {}
        for phrase in load_phrases(phrases_file):
            key = fold(phrase)
            if key:
                folded.setdefault(key, phrase)
        self._phrase_by_folded = folded
        # Longest first so that "guaranteed returns" wins over "guaranteed return".
        alternatives = sorted(folded, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(p) for p in alternatives)) if alternatives else None

    def _negated(self, folded: str, start: int) -> bool:
        return self.skip_negated and folded[max(0, start - 6) : start].endswith(NEGATIONS)

    def search(self, transcript: str | None) -> list[PhraseHit]:
        """Every hit in ``transcript`` in order (none for an empty one or an empty list)."""
        if self._pattern is None or not transcript:
            return []
        folded, positions = fold_with_positions(transcript)
        return [
            PhraseHit(self._phrase_by_folded[m.group()], positions[m.start()], positions[m.end() - 1] + 1)
            for m in self._pattern.finditer(folded)
            if not self._negated(folded, m.start())
        ]


@register("banned_phrases")
class BannedPhraseDetector(Detector):
    """Flags a ``sale_recorded`` event whose transcript holds a listed phrase.

    >>> from detectors.events import Event
    >>> d = BannedPhraseDetector(BannedPhraseConfig())
    >>> sale = Event("e1", "sale_recorded", "policy", 0.0, policy_id="P1",
    ...              agent_id="A1", transcript="这款产品 稳赚 不赔，您放心")
    >>> _, findings = d.observe(sale, None)
    >>> findings[0].evidence["phrases"]
    ['稳赚不赔']
    """

    name = "banned_phrases"
    typologies = (TYPOLOGY,)
    version = "1"
    event_types = frozenset({"sale_recorded"})
    keyspace = None

    def __init__(self, config: BannedPhraseConfig) -> None:
        self.config = config
        self.tier = Tier(config.tier)
        self.matcher = PhraseMatcher(config.phrases_file, config.skip_negated)

    def key(self, event: Event) -> str | None:
        return event.policy_id

    def observe(self, event: Event, state: State) -> tuple[State, list[Finding]]:
        if event.policy_id is None:
            return None, []
        hits = self.matcher.search(event.transcript)
        if not hits:
            return None, []
        phrases = sorted({h.phrase for h in hits})
        ctx = self.config.context_chars
        quote = event.transcript[max(0, hits[0].start - ctx) : hits[0].end + ctx]
        finding = Finding(
            detector=self.name,
            detector_version=self.version,
            typology=TYPOLOGY,
            tier=self.tier,
            tier_reason="a banned phrase blocks the sale",
            entity_type="policy",
            entity_id=event.policy_id,
            window_start=event.time,
            event_time=event.time,
            score=float(len(hits)),
            summary=f"sale transcript says {', '.join(repr(p) for p in phrases)} (agent {event.agent_id})",
            evidence={
                "phrases": phrases,
                "hits": len(hits),
                "quote": quote,
                "agent_id": event.agent_id,
                "product_id": event.product_id,
                "event_ids": [event.event_id],
            },
            branch_id=event.branch_id,
            partner_id=event.partner_id,
        )
        return None, [finding]
