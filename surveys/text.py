"""Text analytics of a comment: its sentiment and language, the themes it is about (with the
words that matched, for highlighting), and the discovery of new themes from recent comments.

Sentiment and language (`analyse`)
----------------------------------
- The language is detected with py3langid (a maintained fork of langid.py whose 4.5 MB model
  ships inside the wheel: nothing is downloaded at run time, and the same text always gets the
  same answer). Detection on a few words is unreliable, so a comment with fewer than
  MIN_DETECT_WORDS words or MIN_DETECT_LETTERS letters is taken as English, and so is one the
  detector is unsure about (top language below MIN_LANGUAGE_CONFIDENCE, or not clearly ahead of
  English): VADER then reads it, which is right for the short English comments most surveys get.
- English comments are scored by VADER (vaderSentiment): the compound score, -1..1, which reads
  emoji (through their names; EMOJI_WORDS gives words to common ones whose names say nothing,
  such as 👎 and 😡), capitals, "!!!" and negations. `sentiment_source` is "text".
- Other languages: VADER's lexicon is English, so the sentiment comes from the response's own
  score instead (NPS 0..10, CSAT and CES on their scales, mapped linearly to -1..1, CES by its
  direction), `sentiment_source` "score"; without a score the sentiment stays None.
- An empty or whitespace-only comment has no sentiment, no source and no language.

Themes (`active_theme_matcher().match(comment)`)
------------------------------------------------
Active themes' keywords and phrases are compiled once per process into whole-word patterns over
normalized text (lower case, accents removed: "CAFÉ" finds "cafe"), and kept with the version
token they were loaded under in the shared cache, as alerts.selectors does for rules: any theme
write calls `themes_changed()`, which drops this process's copy and bumps the token so the other
processes reload on their next check (at most every THEMES_CHECK_SECONDS, default 2 s).

Discovery (`discover_themes`)
-----------------------------
TF-IDF (English stop words, words and two-word phrases) and NMF from scikit-learn over the most
recent THEME_DISCOVERY_COMMENTS English comments that match no active theme; each NMF component
with enough comments becomes a proposed theme (keywords = its top terms, name = its two top
terms, examples = its most typical comments), skipping any whose keywords repeat an existing
theme's (proposed, active, retired or rejected: a rejected theme is never proposed again).
Deterministic (fixed random_state, deterministic initialisation).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from core.process_cache import ProcessCache

logger = logging.getLogger(__name__)

NEGATIVE_AT_MOST = -0.05  # VADER's documented convention: <= -0.05 negative, >= 0.05 positive
POSITIVE_AT_LEAST = 0.05
SENTIMENT_LABELS = ("negative", "neutral", "positive")

MIN_DETECT_WORDS = 2
MIN_DETECT_LETTERS = 8
MIN_LANGUAGE_CONFIDENCE = 0.3  # py3langid's normalised probability of the top language
ENGLISH_MARGIN = 5.0  # ... and it must be this many times likelier than English
MAX_DETECT_CHARS = 300  # the language is read from the comment's first words (enough, and bounded)


# --- normalized text ----------------------------------------------------------------------------


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


# --- sentiment and language ---------------------------------------------------------------------

_analyzer = None
_identifier = None
_load_lock = threading.Lock()

# VADER reads an emoji through its Unicode name ("😠" -> "angry face"). Common feedback emoji whose
# names carry no word VADER knows ("pouting face", "thumbs down") would read as neutral, so they
# are given words that say what customers mean by them.
EMOJI_WORDS = {
    "😡": "angry face", "🤬": "angry cursing face", "😤": "annoyed face", "😒": "unhappy face",
    "🙄": "annoyed face", "👎": "thumbs down bad", "💩": "crap", "🤮": "disgusting", "🤢": "disgusting",
    "👍": "thumbs up good", "👏": "applause great", "💯": "perfect", "🙏": "thanks", "⭐": "star good",
    "🌟": "star good", "🔥": "awesome",
}


def vader_compound(comment: str) -> float | None:
    """VADER's compound score for a comment (the analyzer is built once per process)."""
    global _analyzer
    if not comment or not comment.strip():
        return None
    if _analyzer is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        with _load_lock:
            if _analyzer is None:
                analyzer = SentimentIntensityAnalyzer()
                analyzer.emojis.update(EMOJI_WORDS)
                _analyzer = analyzer
    return round(_analyzer.polarity_scores(comment)["compound"], 4)


def sentiment_label(score: float | None) -> str:
    """"negative", "neutral" or "positive" by VADER's ±0.05 convention; "" without a score."""
    if score is None:
        return ""
    if score <= NEGATIVE_AT_MOST:
        return "negative"
    if score >= POSITIVE_AT_LEAST:
        return "positive"
    return "neutral"


_NOT_LETTERS = re.compile(r"[\W\d_]+")


def _language_identifier():
    global _identifier
    if _identifier is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        with _load_lock:
            if _identifier is None:
                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def detect_language(comment: str) -> str:
    """ISO 639-1 code of the comment's language; "" for an empty comment; "en" when the comment
    is too short to tell or the detector is unsure (see the module notes)."""
    if not comment or not comment.strip():
        return ""
    words = _NOT_LETTERS.sub(" ", comment[:MAX_DETECT_CHARS * 2]).split()  # emoji, digits, punctuation: no clue
    if len(words) < MIN_DETECT_WORDS or sum(len(w) for w in words) < MIN_DETECT_LETTERS:
        return "en"
    identifier = _language_identifier()
    text = " ".join(words)[:MAX_DETECT_CHARS]
    top, confidence = identifier.classify(text)
    if top == "en" or confidence < MIN_LANGUAGE_CONFIDENCE:
        return "en"
    english = next((p for lang, p in identifier.rank(text) if lang == "en"), 0.0)
    if confidence >= MIN_LANGUAGE_CONFIDENCE and confidence >= ENGLISH_MARGIN * english:
        return top[:8]
    return "en"


def _on_scale(value, low, high) -> float | None:
    if value is None or low is None or high is None or high <= low:
        return None
    position = (float(value) - float(low)) / (float(high) - float(low))
    return max(-1.0, min(1.0, 2 * position - 1))


def score_sentiment(*, nps=None, csat=None, csat_scale=None, ces=None, ces_scale=None,
                    ces_high_is_easy: bool | None = None) -> float | None:
    """A response's score as a sentiment in -1..1 (the fallback for comments VADER cannot read):
    NPS first (0 -> -1, 5 -> 0, 10 -> 1), else CSAT on its scale (default 1-5), else CES on its
    scale (default 1-7), turned round when the scale's high end is the most effort."""
    if nps is not None:
        return round(_on_scale(nps, 0, 10), 4)
    if csat is not None:
        low, high = csat_scale if csat_scale and None not in csat_scale else (1, 5)
        value = _on_scale(csat, low, high)
        return None if value is None else round(value, 4)
    if ces is not None:
        low, high = ces_scale if ces_scale and None not in ces_scale else (1, 7)
        value = _on_scale(ces, low, high)
        if value is None:
            return None
        return round(-value if ces_high_is_easy is False else value, 4)
    return None


def response_score_sentiment(response) -> float | None:
    """score_sentiment over a SurveyResponse (saved or not)."""
    return score_sentiment(
        nps=response.nps, csat=response.csat, csat_scale=(response.csat_scale_min, response.csat_scale_max),
        ces=response.ces, ces_scale=(response.ces_scale_min, response.ces_scale_max),
        ces_high_is_easy=response.ces_high_is_easy,
    )


@dataclass(frozen=True, slots=True)
class TextResult:
    sentiment: float | None
    sentiment_source: str  # "text" | "score" | ""
    language: str  # ISO 639-1, or "" for no comment


EMPTY = TextResult(None, "", "")


def analyse(comment: str, *, fallback_score: float | None = None) -> TextResult:
    """Sentiment, where it came from, and language of one comment. `fallback_score` is the
    response's score already mapped to -1..1 (response_score_sentiment), used for comments that
    are not in English."""
    if not comment or not comment.strip():
        return EMPTY
    language = detect_language(comment)
    if language == "en":
        return TextResult(vader_compound(comment), "text", "en")
    if fallback_score is None:
        return TextResult(None, "", language)
    return TextResult(round(float(fallback_score), 4), "score", language)


# --- themes -------------------------------------------------------------------------------------


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


# --- discovery ----------------------------------------------------------------------------------

MIN_DISCOVERY_COMMENTS = 40  # fewer than this: no proposal (clusters of a handful are noise)
MIN_THEME_SHARE = 0.03  # a proposal must be the main topic of at least this share of the comments...
MIN_THEME_COMMENTS = 4  # ...and of at least this many comments
TOP_TERMS = 5
EXAMPLES = 3
SAME_KEYWORDS_OVERLAP = 0.5  # keyword sets overlapping this much (Jaccard) count as the same theme


@dataclass
class Discovery:
    """What a discovery run did: the proposed themes, how many comments it read, and why it
    proposed nothing when it did not."""

    themes: list = field(default_factory=list)
    comments: int = 0
    reason: str = ""

    def describe(self) -> str:
        if self.themes:
            names = ", ".join(f"“{t.name}”" for t in self.themes)
            return f"Proposed {len(self.themes)} theme{'s' if len(self.themes) != 1 else ''} from " \
                   f"{self.comments} comments: {names}."
        return self.reason or f"Read {self.comments} comments; nothing new to propose."


def _recent_untagged_comments(limit: int, now: dt.datetime) -> list[str]:
    from django.db.models import Q

    from surveys.models import SurveyResponse

    matcher = load_theme_matcher()
    rows = (
        SurveyResponse.objects.filter(answered_at__lte=now).exclude(comment="")
        .filter(Q(language="en") | Q(language=""))
        .order_by("-answered_at", "-id").values_list("comment", flat=True)
    )
    comments, scanned = [], 0
    for comment in rows.iterator(chunk_size=2000):
        scanned += 1
        text = comment.strip()
        if text and not matcher.matches_any(text):
            comments.append(text)
            if len(comments) >= limit:
                break
        if scanned >= limit * 4:  # a corpus mostly tagged already: stop reading the whole history
            break
    return comments


def _theme_name(terms: Sequence[str]) -> str:
    first = terms[0]
    second = next((t for t in terms[1:] if t not in first and first not in t), None)
    name = first.capitalize() + (f" / {second}" if second else "")
    return name[:120]


def _overlap(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def discover(*, now: dt.datetime | None = None, comments: Sequence[str] | None = None,
             max_proposals: int | None = None, save: bool = True) -> Discovery:
    """Propose themes from recent untagged comments (or from `comments`, for tests and the
    benchmark). With save=False nothing is written and the themes are unsaved Theme objects."""
    from django.conf import settings
    from django.utils import timezone
    from django.utils.text import slugify

    from surveys.models import Theme

    now = now or timezone.now()
    limit = int(getattr(settings, "THEME_DISCOVERY_COMMENTS", 5000))
    max_proposals = max_proposals if max_proposals is not None else int(
        getattr(settings, "THEME_DISCOVERY_MAX_PROPOSALS", 8))
    corpus = list(comments) if comments is not None else _recent_untagged_comments(limit, now)
    result = Discovery(comments=len(corpus))
    if max_proposals <= 0:
        result.reason = "THEME_DISCOVERY_MAX_PROPOSALS is 0: discovery is off."
        return result
    if len(corpus) < MIN_DISCOVERY_COMMENTS:
        result.reason = (f"Only {len(corpus)} recent comment{'s' if len(corpus) != 1 else ''} match no active theme; "
                         f"discovery needs at least {MIN_DISCOVERY_COMMENTS}, so it proposed nothing.")
        logger.info("theme discovery: %s", result.reason)
        return result

    import numpy as np
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        stop_words="english", ngram_range=(1, 2), min_df=3, max_df=0.4, sublinear_tf=True,
        token_pattern=r"(?u)\b[^\W\d_][^\W\d_]+\b", preprocessor=normalize_text, max_features=20000,
    )
    try:
        matrix = vectorizer.fit_transform(corpus)
    except ValueError:  # every word is a stop word or too rare
        result.reason = f"The {len(corpus)} comments share no words often enough to form a theme."
        return result
    terms = vectorizer.get_feature_names_out()
    components = max(2, min(max_proposals * 2, matrix.shape[1] - 1, len(corpus) // 10))
    if matrix.shape[1] < 3:
        result.reason = f"The {len(corpus)} comments share too few words to form a theme."
        return result
    model = NMF(n_components=components, init="nndsvd", random_state=0, max_iter=400)
    weights = model.fit_transform(matrix)
    main_topic = weights.argmax(axis=1)
    has_topic = weights.max(axis=1) > 0
    minimum = max(MIN_THEME_COMMENTS, int(MIN_THEME_SHARE * len(corpus)))

    existing = [(keyword_key(t.keywords), t.slug, t.name.lower()) for t in
                Theme.objects.only("keywords", "slug", "name")]
    candidates = []
    for topic in range(components):
        members = np.flatnonzero((main_topic == topic) & has_topic)
        if len(members) < minimum:
            continue
        order = model.components_[topic].argsort()[::-1]
        top = [terms[i] for i in order[:TOP_TERMS] if model.components_[topic][i] > 0]
        if len(top) < 2:
            continue
        typical = members[weights[members, topic].argsort()[::-1][:EXAMPLES]]
        candidates.append((len(members), top, [corpus[i][:300] for i in typical]))
    candidates.sort(key=lambda c: (-c[0], c[1]))

    proposed: list[Theme] = []
    for size, top, examples in candidates:
        if len(proposed) >= max_proposals:
            break
        key = keyword_key(top)
        name = _theme_name(top)
        slug = slugify(name)[:140]
        if any(_overlap(key, other) >= SAME_KEYWORDS_OVERLAP or slug == other_slug or name.lower() == other_name
               for other, other_slug, other_name in existing):
            continue
        theme = Theme(
            name=name, slug=slug, keywords=list(top), status=Theme.Status.PROPOSED, origin=Theme.Origin.DISCOVERED,
            examples=examples,
            description=f"Discovered {now:%Y-%m-%d}: the main topic of {size} of {len(corpus)} recent comments "
                        "that matched no theme.",
        )
        existing.append((key, slug, name.lower()))
        proposed.append(theme)
    if save and proposed:
        from surveys.services import theme_propose

        proposed = [theme_propose(theme=theme) for theme in proposed]
    result.themes = proposed
    if not proposed:
        result.reason = (f"Read {len(corpus)} comments that match no active theme; every topic found repeats an "
                         "existing, proposed or rejected theme, or is too small.")
    logger.info("theme discovery: %s", result.describe())
    return result


def discover_themes(now: dt.datetime | None = None) -> list:
    """Propose up to THEME_DISCOVERY_MAX_PROPOSALS themes (status proposed, origin discovered)
    from recent comments no active theme matches; returns them ([] with the reason logged when
    there are too few comments or nothing new)."""
    return discover(now=now).themes
