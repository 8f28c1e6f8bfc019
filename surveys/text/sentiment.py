"""The sentiment of a comment, where it came from, and its language (`analyse`).

- English comments are scored by VADER (vaderSentiment): the compound score, -1..1, which reads
  emoji (through their names; EMOJI_WORDS gives words to common ones whose names say nothing,
  such as 👎 and 😡), capitals, "!!!" and negations. `sentiment_source` is "text".
- Other languages (surveys.text.language): VADER's lexicon is English, so the sentiment comes
  from the response's own score instead (NPS 0..10, CSAT and CES on their scales, mapped linearly
  to -1..1, CES by its direction), `sentiment_source` "score"; without a score the sentiment
  stays None.
- An empty or whitespace-only comment has no sentiment, no source and no language."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from surveys.text.language import detect_language
from surveys.vocabulary import NEGATIVE_AT_MOST, POSITIVE_AT_LEAST, SENTIMENT_LABELS  # noqa: F401 (re-exported)
from surveys.vocabulary import sentiment_band as sentiment_label  # noqa: F401 (the bands are surveys.vocabulary's)

_analyzer = None
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
