"""Text analytics of a comment: its sentiment and language, and the themes it is about (with the
words that matched, for highlighting). Pure functions over text, apart from loading the active
themes (one query, cached per process). Discovering new themes from recent comments is a
service: surveys.services.discovery.

- normalize.py: text as keywords compare it (lower case, no accents), keyword patterns and lists.
- language.py: `detect_language` (py3langid; short or unsure comments are English).
- sentiment.py: `analyse` (VADER for English, the response's score otherwise), sentiment bands.
- themes.py: `ThemeMatcher`, `highlight`, and the per-process cache of the active themes.
"""

from surveys.text.language import MAX_DETECT_CHARS, MIN_DETECT_LETTERS, MIN_DETECT_WORDS, detect_language
from surveys.text.normalize import clean_keywords, keyword_key, keyword_pattern, normalize_text, normalize_with_map
from surveys.text.sentiment import (
    EMOJI_WORDS, EMPTY, NEGATIVE_AT_MOST, POSITIVE_AT_LEAST, SENTIMENT_LABELS, TextResult, analyse,
    response_score_sentiment, score_sentiment, sentiment_label, vader_compound,
)
from surveys.text.themes import (
    MAX_MATCHES_KEPT, THEMES_VERSION_KEY, ThemeFound, ThemeMatcher, active_theme_matcher, highlight,
    load_theme_matcher, themes_changed,
)

__all__ = [
    "EMOJI_WORDS", "EMPTY", "MAX_DETECT_CHARS", "MAX_MATCHES_KEPT", "MIN_DETECT_LETTERS", "MIN_DETECT_WORDS",
    "NEGATIVE_AT_MOST", "POSITIVE_AT_LEAST", "SENTIMENT_LABELS", "THEMES_VERSION_KEY", "TextResult", "ThemeFound",
    "ThemeMatcher", "active_theme_matcher", "analyse", "clean_keywords", "detect_language", "highlight",
    "keyword_key", "keyword_pattern", "load_theme_matcher", "normalize_text", "normalize_with_map",
    "response_score_sentiment", "score_sentiment", "sentiment_label", "themes_changed", "vader_compound",
]
