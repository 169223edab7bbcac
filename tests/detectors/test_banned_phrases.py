"""Banned and misleading phrases in sale transcripts, with the shipped phrase list."""
from __future__ import annotations

import pytest

from builders import T0, sale
from detectors.banned_phrases import BannedPhraseConfig, BannedPhraseDetector, load_phrases
from detectors.base import Tier
from detectors.events import Event
from detectors.text import fold, fold_with_positions


@pytest.fixture(scope="module")
def detector() -> BannedPhraseDetector:
    return BannedPhraseDetector(BannedPhraseConfig())


def phrases_in(detector: BannedPhraseDetector, transcript: str) -> list[str]:
    _, found = detector.observe(sale("s1", transcript), None)
    return found[0].evidence["phrases"] if found else []


@pytest.mark.parametrize(
    "transcript, phrases",
    [
        ("这款产品稳赚不赔，您放心", ["稳赚不赔"]),
        ("This plan gives a guaranteed return every year.", ["guaranteed return"]),
        # Full-width letters and an ideographic space fold to "guaranteedreturn".
        ("ＧＵＡＲＡＮＴＥＥＤ　ＲＥＴＵＲＮ！", ["guaranteed return"]),
        # Spaces, punctuation and a zero-width space inside the phrase.
        ("稳 赚，不-赔", ["稳赚不赔"]),
        ("稳\u200b赚不赔", ["稳赚不赔"]),
        ("It is risk free.", ["risk-free"]),
        ("RiSk—FrEe!", ["risk-free"]),
        ("You can\u2019t lose", ["can't lose"]),
        ("最高收益，保证收益", ["保证收益", "最高收益"]),
    ],
)
def test_matches_folded_phrases(detector, transcript, phrases):
    assert phrases_in(detector, transcript) == phrases


def test_longest_listed_phrase_wins(detector):
    # Both "guaranteed return" and "guaranteed returns" are listed: one hit, the longer.
    _, [finding] = detector.observe(sale("s1", "Guaranteed returns for you"), None)
    assert finding.evidence["phrases"] == ["guaranteed returns"]
    assert finding.evidence["hits"] == 1


def test_counts_every_hit_and_lists_each_phrase_once(detector):
    _, [finding] = detector.observe(sale("s1", "保本保息，而且零风险，保本保息"), None)
    assert finding.evidence["phrases"] == ["保本保息", "零风险"]
    assert finding.evidence["hits"] == 3
    assert finding.score == 3.0


def test_finding_names_the_policy_and_blocks_the_sale(detector):
    event = sale("s1", "这款产品稳赚不赔，您放心", t=T0 + 5.0)
    state, [finding] = detector.observe(event, None)
    assert state is None
    assert finding.tier is Tier.CRITICAL
    assert finding.typology == "misleading_sales_phrase"
    assert (finding.entity_type, finding.entity_id) == ("policy", "P1")
    assert finding.window_start == finding.event_time == T0 + 5.0
    assert finding.branch_id == "B1"
    assert finding.evidence == {
        "phrases": ["稳赚不赔"],
        "hits": 1,
        "quote": "这款产品稳赚不赔，您放心",  # 4 + 4 + 4 characters: all within 12 either side
        "agent_id": "A1",
        "product_id": "PR1",
        "event_ids": ["s1"],
    }


def test_quote_is_the_hit_and_at_most_context_chars_either_side(detector):
    _, [finding] = detector.observe(sale("s1", "a" * 30 + "稳赚不赔" + "b" * 30), None)
    assert finding.evidence["quote"] == "a" * 12 + "稳赚不赔" + "b" * 12


def test_quote_keeps_the_hit_as_written(detector):
    _, [finding] = detector.observe(sale("s1", "x" * 20 + "稳 赚 不 赔" + "y" * 20), None)
    assert finding.evidence["quote"] == "x" * 12 + "稳 赚 不 赔" + "y" * 12


def test_quote_at_the_edges_of_the_transcript(detector):
    _, [finding] = detector.observe(sale("s1", "零风险" + "z" * 3), None)
    assert finding.evidence["quote"] == "零风险zzz"


@pytest.mark.parametrize("context_chars, quote", [(0, "RISK FREE"), (3, "es RISK FREE yo"), (40, "Yes RISK FREE you")])
def test_quote_window_length_follows_the_config(context_chars, quote):
    det = BannedPhraseDetector(BannedPhraseConfig(context_chars=context_chars))
    _, [finding] = det.observe(sale("s1", "Yes RISK FREE you"), None)
    assert finding.evidence["quote"] == quote


@pytest.mark.parametrize("context_chars", [-1, 41])
def test_quote_window_is_bounded(context_chars):
    with pytest.raises(ValueError, match="context_chars"):
        BannedPhraseConfig(context_chars=context_chars)


@pytest.mark.parametrize("transcript", ["本产品有15天犹豫期，请仔细阅读免责条款。", "Returns are not guaranteed.", "", None])
def test_clean_or_missing_transcript_gives_no_finding(detector, transcript):
    assert detector.observe(sale("s1", transcript), None) == (None, [])


def test_no_policy_id_no_finding(detector):
    assert detector.observe(sale("s1", "稳赚不赔", policy_id=None), None) == (None, [])
    assert detector.key(sale("s1", "稳赚不赔", policy_id=None)) is None


def test_tier_comes_from_the_config():
    det = BannedPhraseDetector(BannedPhraseConfig(tier="high"))
    _, [finding] = det.observe(sale("s1", "零风险"), None)
    assert finding.tier is Tier.HIGH
    with pytest.raises(ValueError):
        BannedPhraseConfig(tier="purple")


def test_shipped_list_loads_without_comments():
    phrases = load_phrases()
    assert "稳赚不赔" in phrases and "guaranteed return" in phrases
    assert not any(p.startswith("#") or not p.strip() for p in phrases)


def test_phrase_file_from_the_config(tmp_path):
    path = tmp_path / "phrases.txt"
    # A phrase that folds to nothing ("!!!") can never match and is left out.
    path.write_text("# our own list\n\n  Sure Thing  \n!!!\n", encoding="utf-8")
    det = BannedPhraseDetector(BannedPhraseConfig(phrases_file=str(path)))
    assert phrases_in(det, "it's a SURE-thing, 稳赚不赔") == ["Sure Thing"]


def test_empty_phrase_file_never_fires(tmp_path):
    path = tmp_path / "phrases.txt"
    path.write_text("# nothing banned yet\n", encoding="utf-8")
    det = BannedPhraseDetector(BannedPhraseConfig(phrases_file=str(path)))
    assert det.observe(sale("s1", "稳赚不赔"), None) == (None, [])


def test_fold_keeps_a_map_back_to_the_original():
    assert fold("Ｒｉｓｋ－ｆｒｅｅ！") == "riskfree"
    folded, positions = fold_with_positions("a ß!")
    assert folded == "ass"  # casefold expands ß to two characters of one position
    assert positions == [0, 2, 2]


@pytest.mark.parametrize("transcript", [
    "本产品不保证收益，收益以实际投资表现为准",
    "请注意，这不是无风险的产品",
    "There is no guaranteed return on this product.",
    "It is not risk-free: you can lose money.",
    "This plan isn't risk free.",
])
def test_a_negated_phrase_is_a_disclosure_not_a_claim(transcript):
    _, findings = BannedPhraseDetector(BannedPhraseConfig()).observe(
        Event("e1", "sale_recorded", "policy", 0.0, policy_id="P1", transcript=transcript), None)
    assert findings == []


def test_negation_can_be_switched_off_and_does_not_hide_a_later_claim():
    sale = Event("e1", "sale_recorded", "policy", 0.0, policy_id="P1",
                 transcript="本产品不保证收益……但是我跟您说，稳赚不赔")
    _, findings = BannedPhraseDetector(BannedPhraseConfig()).observe(sale, None)
    assert findings[0].evidence["phrases"] == ["稳赚不赔"]
    _, findings = BannedPhraseDetector(BannedPhraseConfig(skip_negated=False)).observe(sale, None)
    assert findings[0].evidence["phrases"] == ["保证收益", "稳赚不赔"]
