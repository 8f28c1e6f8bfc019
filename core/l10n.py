"""Dates and times as a viewer reads them: in their time zone, in their language's format, with the
zone named: "Fri 4 Dec, 10:30 CET", "vie 4 dic, 10:30 CET", "Fr, 4. Dez, 10:30 CET" (a zone is
named by its tz database abbreviation, or its UTC offset where it has none, in every language).

The active time zone and language are the viewer's: accounts.middleware activates them per
request (their profile, else the browser's language and their team's zone); e-mails activate the
recipient's around rendering. The formats per language are config/formats/<lang>/formats.py.

A template library that every Django template has without {% load %} (TEMPLATES "builtins"):

    {{ case.resolution_due|when }}         Fri 4 Dec, 10:30 CET      (SHORT_DATETIME_FORMAT)
    {{ response.answered_at|when:"long" }} Fri 4 Dec 2026, 10:30 CET (DATETIME_FORMAT)
    {{ some_date|day }}                    4 Dec 2026                (DATE_FORMAT)
    <time datetime="{{ moment|iso }}">     2026-12-04T09:30:00+00:00 (UTC, for machines)

and the Jinja2 environment (jinja2.ext.i18n with Django's gettext installed, the same filters).

Importing it also makes each language's catalogue remember its answers (remember_translations):
every template engine loads this library, so every page has it. Imports no app."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from django import template
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.translation import trans_real
from django.utils.translation import (
    get_language,
    gettext,
    ngettext,
    npgettext,
    pgettext,
)

register = template.Library()

# --- catalogues that remember -----------------------------------------------------------------
#
# Each gettext asks the language's DjangoTranslation, which looks the message up in every merged
# catalogue (one per app with a locale/) and then its fallback's, twice over (singular, then
# plural form): an English page misses in all of them. A case page says about 200 words a view,
# an inbox page about 100 (bench/page_cpu.py: a tenth of the case page's calls). The answer for a
# message is the same for as long as the translation object lives, so each object keeps its
# answers (at most TRANSLATION_MEMO a language: a message built from data, never a literal, is
# looked up as before once that many are kept); a catalogue or fallback added later (Django adds
# them while it builds the object) empties it, and a new object (settings or .mo files changed in
# development) starts empty.

TRANSLATION_MEMO = 4096


def remember_translations() -> None:
    """Installs the remembering gettext on Django's translation class (once)."""
    cls = trans_real.DjangoTranslation
    if getattr(cls, "_remembers", False):
        return
    looked_up, merge, add_fallback = cls.gettext, cls.merge, cls.add_fallback

    def gettext(self, message):
        memo = self.__dict__.get("_memo")
        if memo is None:
            memo = self.__dict__["_memo"] = {}
        try:
            return memo[message]
        except KeyError:
            answer = looked_up(self, message)
            if len(memo) < TRANSLATION_MEMO:
                memo[message] = answer
            return answer

    def merged(self, other):
        self.__dict__.pop("_memo", None)
        return merge(self, other)

    def fallback_added(self, fallback):
        self.__dict__.pop("_memo", None)
        return add_fallback(self, fallback)

    cls.gettext, cls.merge, cls.add_fallback, cls._remembers = gettext, merged, fallback_added, True


remember_translations()


def zone_name(value: dt.datetime) -> str:
    """The zone of an aware datetime as people write it: "CET", "EST", "UTC", else "UTC+04"."""
    name = value.tzname() or ""
    if not name or name[0] in "+-":
        offset = value.utcoffset() or dt.timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        hours, rest = divmod(abs(minutes), 60)
        name = f"UTC{sign}{hours:02d}" + (f":{rest:02d}" if rest else "")
    return name


def local(value: dt.datetime) -> dt.datetime:
    """`value` in the active (the viewer's) time zone; naive values are taken as they are."""
    return timezone.localtime(value) if timezone.is_aware(value) else value


@register.filter(expects_localtime=False)
def when(value, style: str = "short") -> str:
    """A moment in the viewer's zone and language, the zone named. "" for no value."""
    if not isinstance(value, dt.datetime):
        return "" if value in (None, "") else str(value)
    if timezone.is_aware(value):
        return _when(value, timezone.get_current_timezone(), get_language(), style)
    return dateformat.format(value, get_format("DATETIME_FORMAT" if style == "long" else "SHORT_DATETIME_FORMAT"))


@lru_cache(maxsize=8192)
def _when(value: dt.datetime, zone: dt.tzinfo, language: str | None, style: str) -> str:
    """`when` of an aware moment, remembered per process: the words are a function of the moment,
    the zone, the language and the style alone (the formats and month names are the language's,
    fixed while the process runs). Django's dateformat costs about 200 calls a moment, and a page
    prints the same moments on every view (a case's timeline, the inbox's due times)."""
    moment = value.astimezone(zone)
    fmt = get_format("DATETIME_FORMAT" if style == "long" else "SHORT_DATETIME_FORMAT")
    return f"{dateformat.format(moment, fmt)} {zone_name(moment)}"


@register.filter(expects_localtime=False)
def day(value) -> str:
    """A date (or a moment's date in the viewer's zone) in the language's format: "4 Dec 2026"."""
    if isinstance(value, dt.datetime):
        value = local(value)
    elif not isinstance(value, dt.date):
        return "" if value in (None, "") else str(value)
    return dateformat.format(value, get_format("DATE_FORMAT"))


@register.filter(expects_localtime=False)
def iso(value) -> str:
    """A moment for machines (<time datetime="...">): ISO 8601 in UTC, whoever is viewing."""
    if not isinstance(value, dt.datetime):
        return "" if value in (None, "") else str(value)
    return value.astimezone(dt.timezone.utc).isoformat() if timezone.is_aware(value) else value.isoformat()


def url(name: str, *args) -> str:
    """Django's reverse(name, args), remembered per URL configuration and script prefix (a
    reverse costs about 25 us; a page's links repeat the same few)."""
    from django.conf import settings
    from django.urls import get_script_prefix, get_urlconf

    return _reversed(name, args, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())


@lru_cache(maxsize=1024)
def _reversed(name: str, args: tuple, urlconf, prefix: str) -> str:
    from django.urls import reverse

    return reverse(name, args=args or None, urlconf=urlconf)


def jinja2_environment(**options):
    """Django's Jinja2 backend calls this (settings.TEMPLATES "environment"): jinja2.ext.i18n with
    Django's translations installed, so `{{ _("No comment") }}` reads the same catalogue as
    {% translate %} (and makemessages finds it: `_("...")` is also Django template syntax).

    Only words without placeholders go through `_()` in a Jinja2 template: makemessages reads
    `_("...")` only when the string is its one argument, so words with a value in them are put
    together in Python (gettext, ngettext) and handed to the template. A translation is escaped
    as {% translate %} escapes it (jinja2.ext.i18n would print it as markup).

    Filters: `when`, `day` and `iso` (above), Django's `linebreaksbr`. Globals: `url(name, *args)`
    is Django's reverse (remembered: `url`); `querystring(params, **changes)` Django's
    {% querystring %} over the QueryDict given (None removes a parameter)."""
    from django.template.defaultfilters import linebreaksbr
    from django.template.defaulttags import querystring
    from jinja2 import Environment
    from markupsafe import escape

    options["extensions"] = [*options.get("extensions", []), "jinja2.ext.i18n"]
    env = Environment(**options)
    env.install_gettext_callables(
        lambda message: escape(gettext(message)), lambda singular, plural, n: escape(ngettext(singular, plural, n)),
        newstyle=True, pgettext=lambda context, message: escape(pgettext(context, message)),
        npgettext=lambda context, singular, plural, n: escape(npgettext(context, singular, plural, n)))
    env.filters["when"] = when
    env.filters["day"] = day
    env.filters["iso"] = iso
    env.filters["linebreaksbr"] = linebreaksbr
    env.globals["url"] = url
    env.globals["querystring"] = lambda params, **changes: querystring(None, params, **changes)
    return env
