"""SLA clocks: which policy a case gets, when its clocks run out, and how its state reads.

    due_times(team, start, policy) -> (first_contact_due, resolution_due)   # business time
    sla_state(case, now=None) -> SlaState(label="overdue by 3 h", level="overdue")

Levels: "overdue" (a clock ran out), "due_soon" (a clock runs out within DUE_SOON), "ok",
"closed". Overdue is always derived from the due times, never from a stored flag."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils import timezone, translation

from cases.calendar import add_business_hours

DUE_SOON = dt.timedelta(minutes=getattr(settings, "CASES_DUE_SOON_MINUTES", 120))
DEFAULT_FIRST_CONTACT_HOURS = Decimal(str(getattr(settings, "CASES_DEFAULT_FIRST_CONTACT_HOURS", 8)))
DEFAULT_RESOLUTION_HOURS = Decimal(str(getattr(settings, "CASES_DEFAULT_RESOLUTION_HOURS", 40)))


def policy_hours(policy) -> tuple[Decimal, Decimal]:
    """(first-contact hours, resolution hours) of a policy, or the defaults without one."""
    if policy is None:
        return DEFAULT_FIRST_CONTACT_HOURS, DEFAULT_RESOLUTION_HOURS
    return Decimal(policy.first_contact_hours), Decimal(policy.resolution_hours)


def due_times(team, start: dt.datetime, policy) -> tuple[dt.datetime, dt.datetime]:
    first_hours, resolution_hours = policy_hours(policy)
    return add_business_hours(team, start, first_hours), add_business_hours(team, start, resolution_hours)


class PageWords:
    """gettext and ngettext remembered for one page, whose language does not change while it is
    built: fifty inbox rows say "due in %(duration)s" and "%(hours)s h" fifty times, and each
    gettext call walks the language's catalogues (and, in English, misses in every one)."""

    def __init__(self):
        self._singular: dict[str, str] = {}
        self._plural: dict[tuple[str, str, int], str] = {}

    def gettext(self, message: str) -> str:
        try:
            return self._singular[message]
        except KeyError:
            text = self._singular[message] = translation.gettext(message)
            return text

    def ngettext(self, singular: str, plural: str, number: int) -> str:
        key = (singular, plural, number)
        try:
            return self._plural[key]
        except KeyError:
            text = self._plural[key] = translation.ngettext(singular, plural, number)
            return text


def humanize_duration(delta: dt.timedelta, words: PageWords | None = None) -> str:
    """'45 min', '3 h', '3 h 20 min', '2 days' (rounded down, at least '1 min'), in the active language."""
    # Local names the message extractor (makemessages) knows, whichever catalogue answers.
    gettext, ngettext = (words.gettext, words.ngettext) if words is not None else (translation.gettext, translation.ngettext)
    minutes = max(1, int(abs(delta).total_seconds() // 60))
    if minutes < 60:
        return gettext("%(minutes)s min") % {"minutes": minutes}
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        if rest and hours < 10:
            return gettext("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": rest}
        return gettext("%(hours)s h") % {"hours": hours}
    days = hours // 24
    return ngettext("%(days)s day", "%(days)s days", days) % {"days": days}


@dataclass(frozen=True)
class SlaState:
    label: str
    level: str  # "overdue", "due_soon", "ok", "closed"
    due: dt.datetime | None = None  # the clock this state is about

    def __str__(self) -> str:
        return self.label


def sla_state(case, now: dt.datetime | None = None, words: PageWords | None = None) -> SlaState:
    """How a case stands against its clocks at `now` (no queries); `words` for a page of many cases."""
    gettext = words.gettext if words is not None else translation.gettext
    if case.status == "closed":
        return SlaState(gettext("closed"), "closed")
    now = now or timezone.now()
    first_contact_open = case.first_contacted_at is None
    if first_contact_open and case.first_contact_due < now:
        return SlaState(gettext("first contact overdue by %(duration)s") % {
            "duration": humanize_duration(now - case.first_contact_due, words)}, "overdue", case.first_contact_due)
    if case.resolution_due < now:
        return SlaState(gettext("overdue by %(duration)s") % {"duration": humanize_duration(now - case.resolution_due, words)},
                        "overdue", case.resolution_due)
    # The clock that runs out next decides what is said.
    if first_contact_open and case.first_contact_due <= case.resolution_due:
        due, label = case.first_contact_due, gettext("first contact due in %(duration)s")
    else:
        due, label = case.resolution_due, gettext("due in %(duration)s")
    level = "due_soon" if due - now <= DUE_SOON else "ok"
    return SlaState(label % {"duration": humanize_duration(due - now, words)}, level, due)
