"""How a case reads at a glance: the score in words, the comment's first line, the SLA state.

Presentation only (no queries): every value comes from rows the view already loaded."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django import template
from django.utils import timezone

register = template.Library()

CSAT_WORDS = ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"]
CES_WORDS = ["Very difficult", "Difficult", "Neither easy nor difficult", "Easy", "Very easy"]
CUSTOM_WORDS = ["Very poor", "Poor", "Fair", "Good", "Very good"]
METRIC_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}


@dataclass(frozen=True)
class ScoreDisplay:
    metric: str  # "NPS", "CSAT", "CES" or the question key
    value: str  # "3", "4.5"
    scale: str  # "0–10"
    word: str  # "detractor", "Very dissatisfied"
    level: str  # "bad", "mid" or "good": the badge colour (never shown without the word)

    @property
    def text(self) -> str:
        return f"{self.metric} {self.value} of {self.scale}: {self.word}"


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
    return words[round(goodness * (len(words) - 1))]


def nps_display(nps: int) -> ScoreDisplay:
    word = "promoter" if nps >= 9 else "passive" if nps >= 7 else "detractor"
    level = {"promoter": "good", "passive": "mid", "detractor": "bad"}[word]
    return ScoreDisplay("NPS", str(nps), "0–10", word, level)


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


def response_scores(response) -> list[ScoreDisplay]:
    """Every score on a response: the standard metrics first, then the other numeric answers."""
    shown: list[ScoreDisplay] = []
    if response.nps is not None:
        shown.append(nps_display(response.nps))
    if response.csat is not None:
        shown.append(csat_display(response.csat, response.csat_scale_min, response.csat_scale_max))
    if response.ces is not None:
        shown.append(ces_display(response.ces, response.ces_scale_min, response.ces_scale_max, response.ces_high_is_easy))
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


@register.simple_tag
def case_score(case) -> ScoreDisplay | None:
    """`{% case_score case as score %}`: the score that opened the case (needs case.alert.rule
    and case.response loaded with select_related)."""
    rule = case.alert.rule if case.alert_id and case.alert else None
    return primary_score(case.response, getattr(rule, "metric", None), getattr(rule, "metric_key", ""))


@register.simple_tag
def all_scores(response) -> list[ScoreDisplay]:
    return response_scores(response)


@register.filter
def first_line(text: str, limit: int = 140) -> str:
    """The first non-blank line of a comment, cut at `limit` characters (escaped by the template)."""
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return ""


@register.simple_tag(takes_context=True)
def sla(context, case):
    """`{% sla case as state %}`: cases.sla.sla_state at the page's single `now`."""
    from cases.sla import sla_state

    now = context.get("now") or timezone.now()
    return sla_state(case, now=now)


@register.filter
def describe(event) -> str:
    """A timeline line a person can read: "Bob Smith claimed this case"."""
    from cases.models import Case, CaseEvent
    from cases.services import describe_event

    who = event.actor.display_name if event.actor_id and event.actor else "Closeloop"
    if event.kind == CaseEvent.Kind.OPENED:
        return f"Case opened for {event.to_value}" if event.to_value else "Case opened"
    if event.kind == CaseEvent.Kind.STATUS:
        labels = dict(Case.Status.choices)
        old, new = labels.get(event.from_value, event.from_value), labels.get(event.to_value, event.to_value)
        return f"{who} moved it from {old.lower()} to {new.lower()}"
    return describe_event(event)


SLA_ICONS = {"overdue": "⚠", "due_soon": "◔", "ok": "✓", "closed": "■"}


@register.filter
def sla_icon(level: str) -> str:
    return SLA_ICONS.get(level, "•")


PRIORITY_ICONS = {"urgent": "⇈", "high": "↑", "normal": "–", "low": "↓"}


@register.filter
def priority_icon(priority: str) -> str:
    return PRIORITY_ICONS.get(priority, "")


@register.filter
def money(value) -> str:
    if value in (None, ""):
        return "—"
    value = Decimal(str(value))
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


@dataclass(frozen=True)
class ClockDisplay:
    label: str  # "due in 2 hours, 10 minutes", "met, 40 minutes early", "missed by 1 hour"
    level: str  # "ok", "due_soon", "overdue" or "closed" (the same colours and icons as the SLA badge)


@register.simple_tag(takes_context=True)
def clock(context, due, done_at=None, stopped_at=None):
    """`{% clock case.first_contact_due case.first_contacted_at case.closed_at as first %}`: one SLA
    clock in words. `done_at` met it; `stopped_at` (the case closed) stops it without meeting it."""
    from cases.sla import DUE_SOON, humanize_duration

    now = context.get("now") or timezone.now()
    if due is None:
        return ClockDisplay("no target", "ok")
    if done_at is not None:
        if done_at <= due:
            return ClockDisplay(f"met, {humanize_duration(due - done_at)} early", "ok")
        return ClockDisplay(f"missed by {humanize_duration(done_at - due)}", "overdue")
    if stopped_at is not None:
        return ClockDisplay("stopped: the case was closed", "closed")
    if due <= now:
        return ClockDisplay(f"overdue by {humanize_duration(now - due)}", "overdue")
    return ClockDisplay(f"due in {humanize_duration(due - now)}", "due_soon" if due - now <= DUE_SOON else "ok")
