"""English left on a page that should be in another language.

`english_leftovers(text, language)` finds the English of the catalogue (locale/<language>/*.po)
in a rendered page or e-mail: every msgid whose translation differs from it is cut at its
placeholders and HTML tags, and each piece of at least two words and ten characters that appears
in the page's visible text is a leftover (short pieces like "NPS" or "Slack" are the same in
every language and would only find themselves)."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from core.catalogues import translations

PIECES = re.compile(r"%\([a-z_0-9]+\)s|%s|%%|<[^>]+>")


@lru_cache(maxsize=8)
def english_pieces(language: str) -> frozenset[str]:
    pieces = set()
    for domain in ("django", "djangojs"):
        path = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / f"{domain}.po"
        for (_context, msgid, plural), strings in translations(path).items():
            for english, translated in ((msgid, strings[0]), (plural, strings[-1])):
                if not english or english == translated:
                    continue
                for piece in PIECES.split(html.unescape(english)):
                    piece = " ".join(piece.split()).strip(" .,;:()·—–-")
                    if len(piece) >= 10 and len(piece.split()) >= 2 and piece not in translated:
                        pieces.add(piece)
    return frozenset(pieces)


def visible_text(page: str) -> str:
    """What a reader sees (and a screen reader reads: aria-label, title, placeholder, alt)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    attributes = " ".join(re.findall(r'\b(?:aria-label|title|placeholder|alt)="([^"]*)"', page))
    text = re.sub(r"<[^>]+>", " ", page) + " " + attributes
    return " ".join(html.unescape(text).split())


def english_leftovers(page: str, language: str) -> list[str]:
    text = visible_text(page)
    return sorted(piece for piece in english_pieces(language) if piece in text)
