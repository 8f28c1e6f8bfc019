"""The rules a team's settings and an SLA policy must follow, one function per rule, shared by the
models' clean() (so every ModelForm, the Django admin included, runs them), the settings pages and
the API serializers. Each returns {field: [message, ...]} (empty when sound); every message says
what to write instead.

Opening hours are stored exactly as cases/calendar.py reads them: per weekday key (mon..sun) a list
of ["HH:MM", "HH:MM"] spans in the team's local time, each ending after it starts ("24:00" is
midnight at the end of the day). An overnight shift is two spans: mon 22:00-24:00 and tue
00:00-06:00 (the weekly editor on the settings page writes it that way)."""

from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal, InvalidOperation

import holidays as holidays_lib
from django.utils.translation import gettext, gettext_lazy

from core import outbound

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY_NAMES = dict(zip(WEEKDAYS, [gettext_lazy("Monday"), gettext_lazy("Tuesday"), gettext_lazy("Wednesday"),
                                 gettext_lazy("Thursday"), gettext_lazy("Friday"), gettext_lazy("Saturday"),
                                 gettext_lazy("Sunday")]))
TIME_RE = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
DAY_KEYS_HINT = "use the keys mon, tue, wed, thu, fri, sat and sun"

Problems = dict[str, list[str]]


def _add(problems: Problems, field: str, message: str) -> None:
    problems.setdefault(field, []).append(message)


def parse_time(value, *, end: bool = False) -> int | None:
    """Minutes after midnight of an "HH:MM" string, or None when it is not one ("24:00" only as an end)."""
    if not isinstance(value, str):
        return None
    match = TIME_RE.match(value.strip())
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours == 24 and (minutes or not end):
        return None
    return hours * 60 + minutes


def time_problem(value, *, end: bool = False) -> str | None:
    """Why `value` is not a time of day, in words a person can act on; None when it is one."""
    if parse_time(value, end=end) is not None:
        return None
    shown = value if isinstance(value, str) else repr(value)
    if isinstance(value, str) and value.strip().startswith("24"):
        return gettext("24:00 can only end a span (midnight at the end of the day).")
    return gettext("“%(value)s” is not a time: write HH:MM on a 24-hour clock, e.g. 09:00 or 17:30.") % {"value": shown}


def opening_hours_problems(value) -> list[str]:
    """Why a stored opening-hours value would not be read as the team means it ([] when sound)."""
    if not isinstance(value, dict):
        return [f'Opening hours are a mapping of weekday to spans, e.g. {{"mon": [["09:00", "17:00"]]}}; {DAY_KEYS_HINT}.']
    problems = []
    for day in value:
        if day not in WEEKDAYS:
            problems.append(f"“{day}” is not a weekday key: {DAY_KEYS_HINT}.")
    for day in WEEKDAYS:
        spans = value.get(day)
        if spans in (None, []):
            continue
        name = DAY_NAMES[day]
        if not isinstance(spans, list):
            problems.append(f'{name}: give a list of spans such as [["09:00", "17:00"]], or [] for closed.')
            continue
        minutes = []
        for span in spans:
            if not isinstance(span, (list, tuple)) or len(span) != 2:
                problems.append(f'{name}: each span is a pair ["start", "end"], e.g. ["09:00", "17:00"]; got {span!r}.')
                continue
            start_problem, end_problem = time_problem(span[0]), time_problem(span[1], end=True)
            if start_problem or end_problem:
                problems.append(f"{name}: {start_problem or end_problem}")
                continue
            start, end = parse_time(span[0]), parse_time(span[1], end=True)
            if end <= start:
                following = WEEKDAYS[(WEEKDAYS.index(day) + 1) % 7]
                problems.append(
                    f"{name}: {span[0]}–{span[1]} ends before it starts. For an overnight shift write "
                    f"{span[0]}–24:00 on {day} and 00:00–{span[1]} on {following} (the weekly editor's "
                    f"“ends next day” box does this)."
                )
                continue
            minutes.append((start, end, span))
        minutes.sort()
        for (a_start, a_end, a), (b_start, _b_end, b) in zip(minutes, minutes[1:]):
            if b_start < a_end:
                problems.append(f"{name}: {a[0]}–{a[1]} and {b[0]}–{b[1]} overlap; merge them into one span.")
    return problems


def timezone_problem(value: str) -> str | None:
    if not value or value not in zoneinfo.available_timezones():
        return gettext("“%(value)s” is not a time zone: use an IANA name such as Europe/London or "
                       "America/New_York.") % {"value": value}
    return None


def holiday_problems(country: str, subdivision: str) -> Problems:
    """The holidays package must know the country (ISO code) and, when given, its subdivision."""
    problems: Problems = {}
    country, subdivision = (country or "").strip(), (subdivision or "").strip()
    if not country:
        if subdivision:
            _add(problems, "holiday_subdivision", gettext("Choose the country first, or leave the region blank."))
        return problems
    supported = holidays_lib.list_supported_countries()
    if country not in supported:
        _add(problems, "holiday_country",
             gettext("“%(country)s” is not a country the holidays calendar knows: use a two-letter ISO code such "
                     "as GB, US or DE.") % {"country": country})
        return problems
    regions = supported[country]
    if subdivision and subdivision not in regions:
        listed = ", ".join(regions[:12]) + (", …" if len(regions) > 12 else "")
        _add(problems, "holiday_subdivision",
             gettext("“%(region)s” is not a region of %(country)s: choose one of %(listed)s, or leave it blank.") % {
                 "region": subdivision, "country": country, "listed": listed}
             if regions else gettext("%(country)s has no regions in the holidays calendar: leave the region blank.") % {
                 "country": country})
    return problems


def channel_problems(slack_url: str, msteams_url: str, escalation: str, delay_minutes) -> Problems:
    """Team notification channels: incoming-webhook URLs over HTTPS (Slack's on hooks.slack.com)
    and an escalation delay when the ladder escalates."""
    problems: Problems = {}
    if slack_url and not slack_url.startswith("https://hooks.slack.com/"):
        _add(problems, "slack_webhook_url",
             gettext("A Slack incoming-webhook URL starts with https://hooks.slack.com/ (Slack: Apps › Incoming "
                     "Webhooks)."))
    if msteams_url and not msteams_url.startswith("https://"):
        _add(problems, "msteams_webhook_url", gettext("A Microsoft Teams webhook URL starts with https://."))
    for field, url in (("slack_webhook_url", slack_url), ("msteams_webhook_url", msteams_url)):
        if url and field not in problems and (problem := outbound.url_problem(url)):
            _add(problems, field, problem)  # e.g. an address on the product's own network (core.outbound)
    if escalation == "ladder" and delay_minutes is not None and int(delay_minutes) <= 0:
        _add(problems, "escalation_delay_minutes",
             gettext("Give how many minutes after becoming overdue a case escalates, e.g. 240 (or choose “Notify "
                     "only”)."))
    return problems


def team_problems(values: dict) -> Problems:
    """Everything a team's settings must satisfy. Keys read: timezone, opening_hours,
    holiday_country, holiday_subdivision, slack_webhook_url, msteams_webhook_url, escalation,
    escalation_delay_minutes (absent keys are not checked)."""
    problems: Problems = {}
    if "timezone" in values and (message := timezone_problem(values["timezone"])):
        _add(problems, "timezone", message)
    if "opening_hours" in values:
        for message in opening_hours_problems(values["opening_hours"]):
            _add(problems, "opening_hours", message)
    if "holiday_country" in values or "holiday_subdivision" in values:
        for field, messages in holiday_problems(values.get("holiday_country", ""),
                                                values.get("holiday_subdivision", "")).items():
            problems.setdefault(field, []).extend(messages)
    for field, messages in channel_problems(values.get("slack_webhook_url") or "", values.get("msteams_webhook_url") or "",
                                            values.get("escalation") or "", values.get("escalation_delay_minutes")).items():
        problems.setdefault(field, []).extend(messages)
    return problems


def default_team_problems(*, team_id: int | None, is_default: bool, current_default_ids: set[int]) -> Problems:
    """Exactly one default team: the default cannot be switched off (another team is made the
    default instead, which moves the flag); the first team is the default."""
    problems: Problems = {}
    if not is_default and team_id is not None and current_default_ids == {team_id}:
        _add(problems, "is_default",
             gettext("One team must be the default (it catches every case no routing rule claims): "
                     "make another team the default instead."))
    return problems


def _hours(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def sla_problems(first_contact_hours, resolution_hours) -> Problems:
    """Targets are positive business hours, resolution no sooner than first contact."""
    problems: Problems = {}
    first, resolution = _hours(first_contact_hours), _hours(resolution_hours)
    for field, value, raw in (("first_contact_hours", first, first_contact_hours),
                              ("resolution_hours", resolution, resolution_hours)):
        if raw in (None, ""):
            continue
        if value is None:
            _add(problems, field, gettext("“%(value)s” is not a number of hours: write e.g. 4 or 1.5.") % {"value": raw})
        elif value <= 0:
            _add(problems, field, gettext("Give a positive number of business hours, e.g. 4 (%(value)s is not a "
                                          "target).") % {"value": f"{value.normalize():f}"})
        elif value >= Decimal("10000"):
            _add(problems, field, gettext("Give fewer than 10000 hours."))
    if "first_contact_hours" not in problems and "resolution_hours" not in problems and first and resolution \
            and resolution < first:
        _add(problems, "resolution_hours",
             gettext("Resolution (%(resolution)s h) cannot be due before first contact (%(first)s h): give at "
                     "least %(first)s.") % {"resolution": f"{resolution.normalize():f}", "first": f"{first.normalize():f}"})
    return problems
