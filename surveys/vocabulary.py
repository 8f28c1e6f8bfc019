"""The words scores and comments are described in, defined once: NPS groups, sentiment bands and
a score in words (pages, e-mails, case texts). The one theme filter is surveys.filtersets.theme_q.

Everything that counts, filters, matches or shows these uses this module: the inbox and API
filters, the alert rules, the reports, the case pages and the e-mails. It reads a response's
fields only (any object with nps, csat, ... attributes) and imports no model, so surveys.models
uses it too.

- NPS: promoter 9-10, passive 7-8, detractor 0-6 (`nps_group`, `nps_q`).
- Sentiment: VADER's documented convention, compound <= -0.05 negative, >= 0.05 positive,
  neutral between (`sentiment_band`, `sentiment_q`). Both ends are inclusive: -0.05 is negative.
- Scores in words: `ScoreDisplay` ("NPS 3 of 0–10: detractor"), `response_scores`,
  `primary_score`, `score_words`, and `scores_line` ("NPS 3, CSAT 2 of 1–5") for e-mails."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, gettext_lazy as _

# --- NPS groups ---------------------------------------------------------------------------------
PROMOTER_AT_LEAST = 9
PASSIVE_AT_LEAST = 7
DETRACTOR_AT_MOST = PASSIVE_AT_LEAST - 1  # 6


class NpsGroup(models.TextChoices):
    PROMOTER = "promoter", _("Promoter")
    PASSIVE = "passive", _("Passive")
    DETRACTOR = "detractor", _("Detractor")


def nps_group(nps) -> str | None:
    """"promoter" (9-10), "passive" (7-8) or "detractor" (0-6); None without a score."""
    if nps is None:
        return None
    if nps >= PROMOTER_AT_LEAST:
        return NpsGroup.PROMOTER.value
    if nps >= PASSIVE_AT_LEAST:
        return NpsGroup.PASSIVE.value
    return NpsGroup.DETRACTOR.value


def nps_q(group: str, field: str = "nps") -> Q:
    """The rows whose NPS `field` is in `group` (no NPS: none of them)."""
    if group == NpsGroup.PROMOTER:
        return Q(**{f"{field}__gte": PROMOTER_AT_LEAST})
    if group == NpsGroup.PASSIVE:
        return Q(**{f"{field}__gte": PASSIVE_AT_LEAST, f"{field}__lt": PROMOTER_AT_LEAST})
    if group == NpsGroup.DETRACTOR:
        return Q(**{f"{field}__lte": DETRACTOR_AT_MOST})
    raise ValueError(f"unknown NPS group {group!r}")


def is_promoter(response) -> bool:
    """NPS 9-10, or (without an NPS) the top box of the CSAT scale."""
    if response.nps is not None:
        return response.nps >= PROMOTER_AT_LEAST
    if response.csat is not None:
        return response.csat >= (response.csat_scale_max or 5)
    return False


# --- sentiment bands ----------------------------------------------------------------------------
NEGATIVE_AT_MOST = -0.05  # VADER's documented convention: <= -0.05 negative, >= 0.05 positive
POSITIVE_AT_LEAST = 0.05


class Sentiment(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    NEUTRAL = "neutral", _("Neutral")
    POSITIVE = "positive", _("Positive")


SENTIMENT_LABELS = tuple(Sentiment.values)  # ("negative", "neutral", "positive")


def sentiment_band(score: float | None) -> str:
    """"negative", "neutral" or "positive" by VADER's ±0.05 convention; "" without a score."""
    if score is None:
        return ""
    if score <= NEGATIVE_AT_MOST:
        return Sentiment.NEGATIVE.value
    if score >= POSITIVE_AT_LEAST:
        return Sentiment.POSITIVE.value
    return Sentiment.NEUTRAL.value


def sentiment_q(band: str, field: str = "sentiment") -> Q:
    """The rows whose sentiment `field` is in `band`, exactly as `sentiment_band` reads a score
    (no sentiment: none of them)."""
    if band == Sentiment.NEGATIVE:
        return Q(**{f"{field}__lte": NEGATIVE_AT_MOST})
    if band == Sentiment.POSITIVE:
        return Q(**{f"{field}__gte": POSITIVE_AT_LEAST})
    if band == Sentiment.NEUTRAL:
        return Q(**{f"{field}__gt": NEGATIVE_AT_MOST, f"{field}__lt": POSITIVE_AT_LEAST})
    raise ValueError(f"unknown sentiment band {band!r}")


# --- scores in words ----------------------------------------------------------------------------
CSAT_WORDS = [_("Very dissatisfied"), _("Dissatisfied"), _("Neutral"), _("Satisfied"), _("Very satisfied")]
CES_WORDS = [_("Very difficult"), _("Difficult"), _("Neither easy nor difficult"), _("Easy"), _("Very easy")]
CUSTOM_WORDS = [_("Very poor"), _("Poor"), _("Fair"), _("Good"), _("Very good")]
# The NPS group as a word in a sentence ("NPS 3: detractor"), lower case in English.
NPS_WORDS = {"promoter": _("promoter"), "passive": _("passive"), "detractor": _("detractor")}
METRIC_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
NPS_LEVELS = {NpsGroup.PROMOTER.value: "good", NpsGroup.PASSIVE.value: "mid", NpsGroup.DETRACTOR.value: "bad"}


@dataclass(frozen=True)
class ScoreDisplay:
    metric: str  # "NPS", "CSAT", "CES" or the question key
    value: str  # "3", "4.5"
    scale: str  # "0–10"
    word: str  # "detractor", "Very dissatisfied"
    level: str  # "bad", "mid" or "good": the badge colour (never shown without the word)

    @property
    def text(self) -> str:
        """"NPS 3 of 0–10: detractor"."""
        return gettext("%(metric)s %(value)s of %(scale)s: %(word)s") % {
            "metric": self.metric, "value": self.value, "scale": self.scale, "word": self.word}

    @property
    def short(self) -> str:
        """"NPS 3" (its scale is the same everywhere) or "CSAT 2 of 1–5"."""
        if self.metric == "NPS":
            return f"NPS {self.value}"
        return gettext("%(metric)s %(value)s of %(scale)s") % {
            "metric": self.metric, "value": self.value, "scale": self.scale}


def _number(value) -> str:
    if value is None:
        return ""
    value = Decimal(str(value))
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _position(value, low, high) -> float:
    """Where `value` sits on its scale, 0.0 (lowest) to 1.0 (highest)."""
    try:
        value, low, high = float(value), float(low), float(high)
    except (TypeError, ValueError):
        return 0.5
    if high <= low:
        return 0.5
    return min(1.0, max(0.0, (value - low) / (high - low)))


def _level(goodness: float) -> str:
    return "bad" if goodness < 0.4 else "mid" if goodness < 0.7 else "good"


def _word(words: list[str], goodness: float) -> str:
    return str(words[round(goodness * (len(words) - 1))])


def nps_display(nps: int) -> ScoreDisplay:
    word = nps_group(nps)
    return ScoreDisplay("NPS", str(nps), "0–10", str(NPS_WORDS[word]), NPS_LEVELS[word])


def csat_display(value, low, high) -> ScoreDisplay:
    low = 1 if low is None else low
    high = 5 if high is None else high
    goodness = _position(value, low, high)
    return ScoreDisplay("CSAT", _number(value), f"{low}–{high}", _word(CSAT_WORDS, goodness), _level(goodness))


def ces_display(value, low, high, high_is_easy) -> ScoreDisplay:
    low = 1 if low is None else low
    high = 7 if high is None else high
    position = _position(value, low, high)
    goodness = position if high_is_easy is not False else 1 - position
    return ScoreDisplay("CES", _number(value), f"{low}–{high}", _word(CES_WORDS, goodness), _level(goodness))


def custom_display(key: str, entry: dict) -> ScoreDisplay | None:
    metric = entry.get("metric") or "custom"
    value, low, high = entry.get("value"), entry.get("min"), entry.get("max")
    if value is None:
        return None
    if metric == "nps":
        return nps_display(int(float(value)))
    if metric == "csat":
        return csat_display(value, low, high)
    if metric == "ces":
        return ces_display(value, low, high, entry.get("higher_is_better", True))
    goodness = _position(value, low, high)
    if entry.get("higher_is_better") is False:
        goodness = 1 - goodness
    scale = f"{_number(low)}–{_number(high)}" if low is not None and high is not None else "?"
    return ScoreDisplay(key, _number(value), scale, _word(CUSTOM_WORDS, goodness), _level(goodness))


def standard_scores(response) -> list[ScoreDisplay]:
    """NPS, CSAT and CES of a response, those it has, in that order."""
    shown: list[ScoreDisplay] = []
    if response.nps is not None:
        shown.append(nps_display(response.nps))
    if response.csat is not None:
        shown.append(csat_display(response.csat, response.csat_scale_min, response.csat_scale_max))
    if response.ces is not None:
        shown.append(ces_display(response.ces, response.ces_scale_min, response.ces_scale_max, response.ces_high_is_easy))
    return shown


def response_scores(response) -> list[ScoreDisplay]:
    """Every score on a response: the standard metrics first, then the other numeric answers."""
    shown = standard_scores(response)
    for key, entry in (response.scores or {}).items():
        if not isinstance(entry, dict) or key in METRIC_NAMES:  # the typed columns, shown above
            continue
        display = custom_display(key, entry)
        if display is not None:
            shown.append(display)
    return shown


def primary_score(response, metric: str | None = None, metric_key: str = "") -> ScoreDisplay | None:
    """The score a case is about: the alert rule's metric when known, else the first one there is."""
    if response is None:
        return None
    if metric == "nps" and response.nps is not None:
        return nps_display(response.nps)
    if metric == "csat" and response.csat is not None:
        return csat_display(response.csat, response.csat_scale_min, response.csat_scale_max)
    if metric == "ces" and response.ces is not None:
        return ces_display(response.ces, response.ces_scale_min, response.ces_scale_max, response.ces_high_is_easy)
    if metric == "custom" and metric_key and isinstance((response.scores or {}).get(metric_key), dict):
        display = custom_display(metric_key, response.scores[metric_key])
        if display is not None:
            return display
    scores = response_scores(response)
    return scores[0] if scores else None


def score_entry(response) -> dict | None:
    """The response's first score (as `primary_score` picks it without a rule) as plain values
    that can be stored and put into words later, in the reader's language (`entry_text`)."""
    if response is None:
        return None
    if response.nps is not None:
        return {"metric": "nps", "value": _number(response.nps)}
    if response.csat is not None:
        return {"metric": "csat", "value": _number(response.csat), "min": response.csat_scale_min,
                "max": response.csat_scale_max}
    if response.ces is not None:
        return {"metric": "ces", "value": _number(response.ces), "min": response.ces_scale_min,
                "max": response.ces_scale_max, "higher_is_better": response.ces_high_is_easy is not False}
    for key, entry in (response.scores or {}).items():
        if isinstance(entry, dict) and key not in METRIC_NAMES and entry.get("value") is not None:
            return {"key": key, "metric": entry.get("metric") or "custom", "value": _number(entry["value"]),
                    "min": entry.get("min"), "max": entry.get("max"),
                    "higher_is_better": entry.get("higher_is_better", True)}
    return None


def entry_text(entry: dict | None) -> str:
    """A stored `score_entry` in words, in the active language: "NPS 3 of 0–10: detractor"."""
    display = custom_display(entry.get("key") or entry.get("metric") or "", entry) if entry else None
    return display.text if display is not None else gettext("another low score")


def score_words(response) -> str:
    """The response's score in words, for the text of an automatic reopening."""
    score = primary_score(response)
    return score.text if score else gettext("another low score")


def scores_line(response) -> str:
    """The standard scores on one line, for e-mail subjects and backtest samples:
    "NPS 3, CSAT 2 of 1–5"; "" without any."""
    return ", ".join(score.short for score in standard_scores(response))
