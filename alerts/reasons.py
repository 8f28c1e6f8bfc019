"""Why an alert rule matched, stored without words and read in the reader's language.

An Alert's `reasons` (and the copies a case's timeline keeps in its OPENED and RESPONSE_ATTACHED
events) are a JSON list of small dicts, one per condition that matched: a `code` and what the
sentence needs, never the sentence. `describe_reason` puts the words together at display time,
in the active language (the page's, the e-mail recipient's, the API caller's):

    {"code": "score", "metric": "nps", "value": 2, "op": "lte", "threshold": 6}
        -> "NPS 2 is at most 6" / "NPS 2 es como máximo 6"
    {"code": "touchpoint", "value": "Checkout"}       -> "touchpoint is “Checkout”"
    {"code": "keywords", "words": ["refund"], "all": false}
    {"code": "sentiment", "band": "negative", "score": -0.62}

Values people configured or customers typed (touchpoints, survey and theme names, keywords) stay
as written. Alerts recorded before reasons were stored this way hold English sentences; the
migrations (alerts 0006, cases 0024) turned the forms they recognised into codes, and a sentence
they could not read is shown as it was stored (`describe_reason` returns a string unchanged).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext, pgettext

from alerts.validation import fmt_number
from surveys.vocabulary import ces_display, csat_display

# Conditions whose reason is "<label> is “<value>”": the code is the condition.
VALUE_CODES = ("survey", "touchpoint", "channel", "location", "region", "tier", "segment")


def score_reason(said: dict, rule) -> dict:
    """The score condition: `said` is how the response's score was read (metric, value, scale)."""
    reason = {"code": "score", **said, "op": rule.operator, "threshold": plain_number(rule.threshold)}
    if rule.operator not in ("lte", "gte"):
        reason["high"] = plain_number(rule.threshold_high)
    return reason


def plain_number(value):
    """A JSON number: 6 rather than Decimal("6.00"); 2.5 stays 2.5."""
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() else number


def _list(values: Iterable[str], *, all_of: bool) -> str:
    quoted = [pgettext("a value quoted in a sentence", "“%(value)s”") % {"value": v} for v in values]
    if not quoted:
        return ""
    if not all_of or len(quoted) == 1:
        return ", ".join(quoted)
    return gettext("%(first)s and %(last)s") % {"first": ", ".join(quoted[:-1]), "last": quoted[-1]}


def _score_words(reason: dict) -> str:
    """"NPS 2", "CSAT 2 of 1–5", "CES 2 of 1–7 (7 = easiest)", "“effort” 3 of 1–5"."""
    metric, value = reason.get("metric"), reason.get("value")
    low, high = reason.get("min"), reason.get("max")
    if metric == "nps":
        return f"NPS {fmt_number(value)}"
    if metric == "csat":
        return csat_display(value, low, high).short
    if metric == "ces":
        easy = reason.get("easy", True)
        score = ces_display(value, low, high, easy).short
        high = 7 if high is None else high
        if easy:
            text = gettext("%(score)s (%(high)s = easiest)") % {"score": score, "high": high}
        else:
            text = gettext("%(score)s (%(high)s = most effort)") % {"score": score, "high": high}
        if "converted" in reason:
            if reason.get("direction") == "easy":
                text += gettext(", %(value)s where %(high)s = easiest") % {
                    "value": fmt_number(reason["converted"]), "high": high}
            else:
                text += gettext(", %(value)s where %(high)s = most effort") % {
                    "value": fmt_number(reason["converted"]), "high": high}
        return text
    return gettext("“%(question)s” %(value)s of %(low)s–%(high)s") % {
        "question": reason.get("key", ""), "value": fmt_number(value), "low": low, "high": high}


def _score(reason: dict) -> str:
    values = {"score": _score_words(reason), "threshold": fmt_number(reason.get("threshold")),
              "high": fmt_number(reason.get("high"))}
    if reason.get("op") == "lte":
        return gettext("%(score)s is at most %(threshold)s") % values
    if reason.get("op") == "gte":
        return gettext("%(score)s is at least %(threshold)s") % values
    return gettext("%(score)s is between %(threshold)s and %(high)s") % values


def describe_reason(reason) -> str:
    """One reason in the active language. A string (an alert recorded in words, before codes) is
    returned as it was stored."""
    if not isinstance(reason, dict):
        return str(reason)
    code = reason.get("code")
    value = reason.get("value", "")
    if code == "score":
        return _score(reason)
    if code == "survey":
        return gettext("survey is “%(value)s”") % {"value": value}
    if code == "touchpoint":
        return gettext("touchpoint is “%(value)s”") % {"value": value}
    if code == "channel":
        return gettext("channel is “%(value)s”") % {"value": value}
    if code == "location":
        return gettext("location is “%(value)s”") % {"value": value}
    if code == "region":
        return gettext("region is “%(value)s”") % {"value": value}
    if code == "tier":
        return gettext("customer tier is “%(value)s”") % {"value": value}
    if code == "segment":
        return gettext("customer segment is “%(value)s”") % {"value": value}
    if code == "in_segments":  # named segments (segments app)
        return gettext("customer is in %(segments)s") % {"segments": _list(reason.get("names") or (), all_of=True)}
    if code == "comment":
        return gettext("has a comment")
    if code == "no_comment":
        return gettext("has no comment")
    if code == "keywords":
        return gettext("comment mentions %(words)s") % {
            "words": _list(reason.get("words") or (), all_of=bool(reason.get("all")))}
    if code == "themes":
        return gettext("comment is about %(themes)s") % {"themes": _list(reason.get("names") or (), all_of=True)}
    if code == "sentiment":
        score = reason.get("score")
        shown = f"{score:+.2f}" if isinstance(score, (int, float)) else "?"
        band = reason.get("band")
        if band == "negative":
            return gettext("comment sentiment is negative (%(score)s)") % {"score": shown}
        if band == "positive":
            return gettext("comment sentiment is positive (%(score)s)") % {"score": shown}
        return gettext("comment sentiment is neutral (%(score)s)") % {"score": shown}
    return gettext("a condition of the rule matched (%(code)s)") % {"code": code}


def describe_reasons(reasons) -> list[str]:
    """Every reason of an alert (or of a timeline event's copy), in the active language."""
    return [describe_reason(reason) for reason in reasons or ()]
