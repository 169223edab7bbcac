"""Text folding for phrase matching, keeping a map back to the original text."""
from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=65_536)
def _fold_char(char: str) -> str:
    """NFKC (full-width to half-width), case-folded, with whitespace,
    punctuation, symbols and control characters removed."""
    out = []
    for folded in unicodedata.normalize("NFKC", char).casefold():
        if folded.isspace() or unicodedata.category(folded)[0] in "PZSC":
            continue
        out.append(folded)
    return "".join(out)


def fold(text: str) -> str:
    """The folded form of ``text`` (what phrases are matched against)."""
    return "".join(_fold_char(c) for c in text)


def fold_with_positions(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each folded character, its index in ``text``."""
    chars: list[str] = []
    positions: list[int] = []
    for index, char in enumerate(text):
        folded = _fold_char(char)
        for out in folded:
            chars.append(out)
            positions.append(index)
    return "".join(chars), positions
