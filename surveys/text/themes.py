"""The themes a comment is about (`active_theme_matcher().match(comment)`), with the words that
matched, for highlighting.

Active themes' keywords and phrases are compiled once per process into whole-word patterns over
normalized text (lower case, accents removed: "CAFÉ" finds "cafe"), and kept with the version
token they were loaded under in the shared cache, as alerts.selectors does for rules: any theme
write calls `themes_changed()`, which drops this process's copy and bumps the token so the other
processes reload on their next check (at most every THEMES_CHECK_SECONDS, default 2 s)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from core.process_cache import ProcessCache
from surveys.text.normalize import clean_keywords, keyword_pattern, normalize_text, normalize_with_map


@dataclass(frozen=True, slots=True)
class ThemeFound:
    """A theme a comment is about, and the words of the comment that matched (as written)."""

    theme_id: int
    name: str
    slug: str
    matches: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _CompiledTheme:
    id: int
    name: str
    slug: str
    pattern: re.Pattern


_WORD = re.compile(r"\w+")


def _first_word(keyword: str) -> str:
    """The first run of word characters of a normalized keyword: a comment the keyword's pattern
    matches always contains it as a whole word (the pattern starts and ends on word boundaries)."""
    found = _WORD.search(normalize_text(keyword))
    return found.group(0) if found else ""


def _alternation(keywords: Sequence[str]) -> re.Pattern | None:
    # Longest first, so "late delivery" wins over "late" where both would match at one place.
    parts = sorted({keyword_pattern(k) for k in keywords if normalize_text(k).split()}, key=len, reverse=True)
    return re.compile("|".join(f"(?:{p})" for p in parts)) if parts else None


MAX_MATCHES_KEPT = 10


class ThemeMatcher:
    """Themes compiled once: `match(comment)` returns the ThemeFound list in theme-name order.
    Pure: no queries. The comment's words are looked up in an index of the keywords' first words,
    so only the themes that can match run their patterns, and a comment about no theme costs one
    pass over its words."""

    __slots__ = ("themes", "ids", "_index")

    def __init__(self, themes: Iterable[tuple[int, str, str, Sequence[str]]]):
        compiled, index = [], {}
        for theme_id, name, slug, keywords in sorted(themes, key=lambda t: (t[1].lower(), t[0])):
            keywords = clean_keywords(keywords)
            pattern = _alternation(keywords)
            if pattern is None:
                continue
            position = len(compiled)
            compiled.append(_CompiledTheme(theme_id, name, slug, pattern))
            for keyword in keywords:
                word = _first_word(keyword)
                if word and position not in index.setdefault(word, []):
                    index[word].append(position)
        self.themes = tuple(compiled)
        self.ids = frozenset(t.id for t in compiled)
        self._index = {word: tuple(positions) for word, positions in index.items()}

    def __len__(self) -> int:
        return len(self.themes)

    def _candidates(self, text: str) -> list[int]:
        index = self._index
        found = set()
        for word in set(_WORD.findall(text)):
            positions = index.get(word)
            if positions:
                found.update(positions)
        return sorted(found)

    def match(self, comment: str) -> list[ThemeFound]:
        if not comment or not self._index:
            return []
        text = normalize_text(comment)
        candidates = self._candidates(text)
        if not candidates:
            return []
        origin = None
        found = []
        for position in candidates:
            theme = self.themes[position]
            spans = [m.span() for m in theme.pattern.finditer(text)]
            if not spans:
                continue
            if origin is None:
                origin = range(len(comment)) if comment.isascii() else normalize_with_map(comment)[1]
            words, seen = [], set()
            for start, end in spans:
                word = comment[origin[start]:origin[end - 1] + 1]
                key = normalize_text(word)
                if key not in seen and len(words) < MAX_MATCHES_KEPT:
                    seen.add(key)
                    words.append(word)
            found.append(ThemeFound(theme.id, theme.name, theme.slug, tuple(words)))
        return found

    def matches_any(self, comment: str) -> bool:
        return bool(self.match(comment))

    def theme_ids(self, comment: str) -> frozenset[int]:
        return frozenset(found.theme_id for found in self.match(comment))


def highlight(comment: str, matches: Iterable[str]) -> SafeString:
    """The comment as HTML (escaped), with <mark> around every occurrence of the matched words
    (whole words, ignoring case and accents, as they were matched)."""
    comment = comment or ""
    pattern = _alternation([m for m in matches or () if m])
    if pattern is None or not comment:
        return mark_safe(escape(comment))
    text, origin = normalize_with_map(comment)
    spans: list[list[int]] = []
    for m in pattern.finditer(text):
        if m.end() <= m.start():
            continue
        start, end = origin[m.start()], origin[m.end() - 1] + 1
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    pieces, last = [], 0
    for start, end in spans:
        pieces.append(escape(comment[last:start]))
        pieces.append(f"<mark>{escape(comment[start:end])}</mark>")
        last = end
    pieces.append(escape(comment[last:]))
    return mark_safe("".join(pieces))


# --- the active themes, cached per process ------------------------------------------------------

THEMES_VERSION_KEY = "surveys:themes:version"


def load_theme_matcher() -> ThemeMatcher:
    """Compile the active themes from the database (one query)."""
    from surveys.models import Theme

    rows = Theme.objects.filter(status=Theme.Status.ACTIVE).values_list("id", "name", "slug", "keywords")
    return ThemeMatcher(rows)


def _check_seconds() -> float:
    from django.conf import settings

    return settings.THEMES_CHECK_SECONDS


_matcher = ProcessCache(THEMES_VERSION_KEY, load_theme_matcher, check_seconds=_check_seconds, what="themes")


def active_theme_matcher() -> ThemeMatcher:
    """The compiled active themes, from this process's cache when it is current."""
    return _matcher.get()


def themes_changed() -> None:
    """Call after any change to themes: this process reloads now, the others on their next check
    (and once more after the transaction commits, for a process that reloaded in between)."""
    _matcher.changed()
