"""A person's language and time zone: what their pages are shown in.

    language: their own (profile page), else the browser's Accept-Language (LocaleMiddleware),
              else settings.LANGUAGE_CODE;
    zone:     their own (profile page), else the zone of their first team (the team's business
              hours zone), else settings.TIME_ZONE.

The team's zone is looked up once, when they sign in, and kept in the session (TEAM_ZONE_KEY), so
a page pays no query for it; saving the profile refreshes it. SLA due times are still computed
in the team's business-hours zone (cases.sla); only their display follows the viewer.
"""

from __future__ import annotations

import zoneinfo
from contextlib import contextmanager
from functools import lru_cache

from django.conf import settings
from django.utils import timezone, translation

TEAM_ZONE_KEY = "closeloop_team_zone"


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name, sorted (the profile page's choices)."""
    return tuple(sorted(name for name in zoneinfo.available_timezones() if "/" in name or name == "UTC"))


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())  # walks the tz database: once per process


def is_zone(name: str) -> bool:
    return bool(name) and name in _known_zones()


def language_codes() -> set[str]:
    return {code for code, _name in settings.LANGUAGES}


def team_zone(user) -> str:
    """The business-hours zone of the user's first team (by membership), or "" without a team."""
    from accounts.models import Membership

    zone = (Membership.objects.filter(user=user).order_by("id")
            .values_list("team__timezone", flat=True).first())
    return zone or ""


def remember_team_zone(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver: keep the team's zone in the session for the pages to come."""
    if request is not None and hasattr(request, "session"):
        request.session[TEAM_ZONE_KEY] = team_zone(user)


def viewer_zone(user, session) -> str:
    """The zone a signed-in person's pages are shown in (a valid IANA name). A session from before
    the team's zone was kept there (or made without signing in) looks it up once."""
    if session is not None and not user.timezone and TEAM_ZONE_KEY not in session:
        session[TEAM_ZONE_KEY] = team_zone(user)
    for zone in (user.timezone, session.get(TEAM_ZONE_KEY, "") if session is not None else ""):
        if is_zone(zone):
            return zone
    return settings.TIME_ZONE


def customer_language(spoken: str, team_language: str = "") -> str:
    """The language to write to a customer in: the one their response was in (the survey tool's
    language field, else the comment's detected language) when the product speaks it, else the
    team's default language, else settings.LANGUAGE_CODE."""
    codes = language_codes()
    for code in ((spoken or "")[:2].lower(), team_language):
        if code in codes:
            return code
    return settings.LANGUAGE_CODE


@contextmanager
def speaking_to(user, *, team_zone_hint: str = ""):
    """Render an e-mail for `user` (staff): their language (else settings.LANGUAGE_CODE) and their
    zone (else their team's, else settings.TIME_ZONE), whatever the current request or task has.
    `team_zone_hint`: the zone of the team the e-mail is about, when the caller has it loaded (a
    case's team), used instead of looking up the person's first team (no query per e-mail)."""
    language = (getattr(user, "language", "") or settings.LANGUAGE_CODE) if user is not None else settings.LANGUAGE_CODE
    zone = team_zone_hint or settings.TIME_ZONE
    if user is not None and getattr(user, "pk", None):
        if is_zone(user.timezone):
            zone = user.timezone
        elif not team_zone_hint:
            zone = team_zone(user) or zone
    if not is_zone(zone):
        zone = "UTC"
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
        yield
