"""How a case reads: the timeline's sentences, the conflict message, scores in words and the
customer e-mail filled in from a template.

Presentation only: text built from rows (conflict_message reads the events it describes). The
services use it for their messages and the template tags (cases.templatetags.case_display) for
the pages; it imports neither."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.template import Context, Template
from django.utils import timezone

from cases.models import Case, CaseEvent, ContactChannel, ContactOutcome

Kind = CaseEvent.Kind

# --- scores in words --------------------------------------------------------------------------
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


def score_words(response) -> str:
    """The response's score in words, for the text of an automatic reopening."""
    score = primary_score(response)
    return score.text if score else "another low score"


# --- the timeline and conflicts -------------------------------------------------------------
def _name(user) -> str:
    return user.display_name if user is not None else "The system"


def team_time(case: Case, instant: dt.datetime) -> str:
    """`instant` in the case team's time zone: "14:05" today, "03 Mar 14:05" another day."""
    try:
        tz = ZoneInfo(case.team.timezone)
    except Exception:  # noqa: BLE001 - a broken time zone still gets a readable message
        tz = dt.timezone.utc
    local = instant.astimezone(tz)
    today = timezone.now().astimezone(tz).date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%d %b %H:%M")


def describe_event(event: CaseEvent) -> str:
    """One line a person can read: "Bob Smith claimed this case", "Sam changed priority from normal to high"."""
    who = _name(event.actor)
    k = event.kind
    if k == Kind.CLAIMED:
        return f"{who} claimed this case"
    if k == Kind.ASSIGNED:
        target = event.data.get("assignee_name") or event.to_value
        return f"{who} assigned this case to {target}" if target else f"{who} returned this case to the team queue"
    if k == Kind.TEAM:
        return f"{who} moved this case from {event.from_value} to {event.to_value}"
    if k == Kind.STATUS:
        return f"{who} changed status from {event.from_value} to {event.to_value}"
    if k == Kind.PRIORITY:
        return f"{who} changed priority from {event.from_value} to {event.to_value}"
    if k == Kind.CONTACT:
        channel = ContactChannel(event.data.get("channel", "other")).label.lower()
        if event.data.get("channel") == ContactChannel.EMAIL and not event.data.get("outcome"):
            return f"{who} e-mailed the customer"
        outcome = event.data.get("outcome")
        outcome_text = f" ({ContactOutcome(outcome).label.lower()})" if outcome in ContactOutcome.values else ""
        return f"{who} logged a {channel} contact attempt{outcome_text}"
    if k == Kind.NOTE:
        return f"{who} added a note"
    if k == Kind.CLOSED:
        return f"{who} closed this case"
    if k == Kind.REOPENED:
        return f"{who} reopened this case"
    if k == Kind.RESPONSE_ATTACHED:
        return f"{who} attached another response from the customer"
    if k == Kind.PLAYBOOK_STEP:
        verb = "ticked" if event.data.get("done", True) else "unticked"
        return f"{who} {verb} “{event.note}” ({event.data.get('playbook', 'playbook')})"
    if k == Kind.VERIFICATION_SENT:
        return "The customer was asked whether we put it right"
    if k == Kind.VERIFICATION_ANSWER:
        said = "yes, it was put right" if event.data.get("recovered") else "no, it was not put right"
        return f"The customer answered the recovery check: {said} ({event.to_value})"
    return f"{who}: {event.get_kind_display().lower()}"


def conflict_message(case: Case, expected_version: int) -> str:
    changes = list(
        CaseEvent.objects.filter(case=case, version__gt=expected_version)
        .select_related("actor")
        .order_by("-version", "-id")[:3]
    )
    if not changes:
        return "This case was changed by someone else; reload to see it."
    latest = changes[0]
    text = f"{describe_event(latest)} at {team_time(case, latest.created_at)}"
    more = len({e.version for e in changes}) - 1
    if more > 0:
        text += f" (and {more} other change{'s' if more > 1 else ''})"
    return f"{text}; reload to see it."


# --- customer e-mail templates ---------------------------------------------------------------
def render_customer_template(template, *, case: Case, agent) -> tuple[str, str]:
    """An EmailTemplate filled in for this case: (subject, body), for staff to edit before sending."""
    response = case.response
    rule = case.alert.rule if case.alert_id else None
    score = primary_score(response, getattr(rule, "metric", None), getattr(rule, "metric_key", ""))
    context = Context({
        "customer": {"name": (case.customer.name if case.customer else "") or "there",
                     "email": case.customer.email if case.customer else ""},
        "score": score.text if score else "",
        "comment": response.comment,
        "case": {"reference": case.reference},
        "agent": {"name": agent.display_name if agent else "The customer team"},
    }, autoescape=False)
    return Template(template.subject).render(context).strip(), Template(template.body).render(context)
