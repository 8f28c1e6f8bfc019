"""The language of a comment (`detect_language`).

Detected with py3langid (a maintained fork of langid.py whose 4.5 MB model ships inside the
wheel: nothing is downloaded at run time, and the same text always gets the same answer).
Detection on a few words is unreliable, so a comment with fewer than MIN_DETECT_WORDS words or
MIN_DETECT_LETTERS letters is taken as English, and so is one the detector is unsure about (top
language below MIN_LANGUAGE_CONFIDENCE, or not clearly ahead of English): VADER then reads it,
which is right for the short English comments most surveys get."""

from __future__ import annotations

import re
import threading

MIN_DETECT_WORDS = 2
MIN_DETECT_LETTERS = 8
MIN_LANGUAGE_CONFIDENCE = 0.3  # py3langid's normalised probability of the top language
ENGLISH_MARGIN = 5.0  # ... and it must be this many times likelier than English
MAX_DETECT_CHARS = 300  # the language is read from the comment's first words (enough, and bounded)

_identifier = None
_load_lock = threading.Lock()

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


_VENDOR_LANGUAGE = re.compile(r"^([A-Za-z]{2})(?:[-_][A-Za-z0-9]{2,8})*$")


def vendor_language(attributes: dict | None) -> str:
    """The language the survey tool says the customer answered in (an adapter keeps it as the
    response's `language` attribute: Formbricks' `language`, SurveySparrow's `language`), as an
    ISO 639-1 code: "es-MX", "ES", "es_ES" -> "es". "" when the tool said nothing usable
    ("default", a number, a full name): the comment's detected language is used then."""
    value = (attributes or {}).get("language")
    if not isinstance(value, str):
        return ""
    match = _VENDOR_LANGUAGE.match(value.strip())
    return match.group(1).lower() if match and value.strip().lower() != "default" else ""
