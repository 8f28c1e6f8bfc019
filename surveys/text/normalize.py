"""Text as themes and keywords compare it: lower case without accents ("CAFÉ" finds "cafe"),
whole-word keyword patterns, and keyword lists cleaned and compared."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable


def normalize_text(text: str) -> str:
    """Lower-case without accents ("Café RÚDE" -> "cafe rude"); ASCII text takes the fast path."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def normalize_with_map(text: str) -> tuple[str, list[int]]:
    """normalize_text(text), and for each character of the result the index of the character of
    `text` it came from (accents and case folding can change the length)."""
    if text.isascii():
        return text.lower(), list(range(len(text)))
    out: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        folded = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)).casefold()
        out.append(folded)
        origin.extend([index] * len(folded))
    return "".join(out), origin


def keyword_pattern(keyword: str) -> str:
    """A whole-word (or whole-phrase) regex for a keyword, over normalized text."""
    words = normalize_text(keyword).split()
    return r"(?<!\w)" + r"\s+".join(re.escape(word) for word in words) + r"(?!\w)"


def clean_keywords(keywords: Iterable[str]) -> list[str]:
    """Keywords as stored: trimmed, inner spaces collapsed, without blanks or repeats (ignoring
    case and accents), in the order given."""
    seen, kept = set(), []
    for keyword in keywords or ():
        text = " ".join(str(keyword).split())
        key = normalize_text(text)
        if text and any(ch.isalnum() for ch in text) and key not in seen:
            seen.add(key)
            kept.append(text)
    return kept


def keyword_key(keywords: Iterable[str]) -> frozenset[str]:
    """What makes two keyword lists the same list (order, case, accents and spacing aside)."""
    return frozenset(" ".join(normalize_text(k).split()) for k in keywords or () if str(k).strip())
