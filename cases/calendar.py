"""Business time: SLA clocks run only while a team is open.

A team's calendar is its time zone, its weekly opening hours (local wall-clock spans such as
["09:00", "17:00"], "24:00" meaning midnight at the end of the day), public holidays from the
`holidays` package (country + subdivision) and its ClosedDay rows. Every span is turned into
absolute (UTC) instants through zoneinfo, so an opening span that contains a DST change lasts
its real length (a 00:00-24:00 span is 23 h on the spring-forward Sunday and 25 h in autumn).

    add_business_hours(team, start, hours) -> datetime   # when `hours` of open time have passed
    business_seconds_between(team, start, end) -> float  # open seconds inside [start, end)

Both take and return aware datetimes (results in UTC). Loops are bounded: a calendar with no
open time at all (every day closed for years) falls back to wall-clock time rather than spin.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import logging
import zoneinfo

import holidays as holidays_lib

logger = logging.getLogger(__name__)

UTC = dt.timezone.utc
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MAX_DAYS = 3 * 366  # how far ahead a due time may land before we give up on the calendar
ALWAYS_OPEN = {day: [["00:00", "24:00"]] for day in WEEKDAYS}


@functools.lru_cache(maxsize=256)
def public_holidays(country: str, subdivision: str, year: int) -> frozenset[dt.date]:
    """The public holidays of one year; an unknown country or region gives none (and a log line)."""
    if not country:
        return frozenset()
    try:
        days = holidays_lib.country_holidays(country, subdiv=subdivision or None, years=year)
    except NotImplementedError:
        if subdivision:
            logger.warning("unknown holiday subdivision %s-%s; using the country's holidays", country, subdivision)
            return public_holidays(country, "", year)
        logger.warning("unknown holiday country %s; no public holidays", country)
        return frozenset()
    return frozenset(days.keys())


def _parse_time(value: str) -> tuple[int, int]:
    hours, minutes = value.strip().split(":")
    return int(hours), int(minutes)


class Calendar:
    """A team's business calendar, read once (one query for its closed days)."""

    def __init__(self, team):
        self.tz = zoneinfo.ZoneInfo(team.timezone or "UTC")
        hours = team.opening_hours or {}
        if not any(hours.get(day) for day in WEEKDAYS):
            hours = ALWAYS_OPEN  # no opening hours configured: the clock always runs
        self.spans = {index: self._spans(hours.get(day) or []) for index, day in enumerate(WEEKDAYS)}
        self.country = team.holiday_country or ""
        self.subdivision = team.holiday_subdivision or ""
        self.closed_days = _closed_days(team)
        self._intervals: dict[dt.date, list[tuple[dt.datetime, dt.datetime]]] = {}
        self.clock = BusinessClock(self)

    @staticmethod
    def _spans(raw) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        spans = []
        for span in raw:
            try:
                start, end = _parse_time(span[0]), _parse_time(span[1])
            except (ValueError, IndexError, AttributeError):
                continue
            if end > start:
                spans.append((start, end))
        merged: list = []
        for start, end in sorted(spans):  # overlapping spans count once
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    def is_closed_day(self, day: dt.date) -> bool:
        return day in self.closed_days or day in public_holidays(self.country, self.subdivision, day.year)

    def _instant(self, day: dt.date, hm: tuple[int, int]) -> dt.datetime:
        if hm[0] >= 24:  # "24:00": midnight at the end of `day`
            day, hm = day + dt.timedelta(days=1), (0, 0)
        local = dt.datetime(day.year, day.month, day.day, hm[0], hm[1], tzinfo=self.tz)
        # A wall time inside a spring-forward gap maps to the instant after the gap (fold=0).
        return local.astimezone(UTC)

    def open_intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The open intervals of one local day, as UTC instants (worked out once per day: a
        report measures thousands of cases over the same few months of days)."""
        intervals = self._intervals.get(day)
        if intervals is None:
            intervals = [] if self.is_closed_day(day) else [
                (a, b) for a, b in (
                    (self._instant(day, start), self._instant(day, end)) for start, end in self.spans[day.weekday()]
                ) if b > a
            ]
            self._intervals[day] = intervals
        return intervals

    def local_date(self, instant: dt.datetime) -> dt.date:
        return instant.astimezone(self.tz).date()


def _closed_days(team) -> frozenset[dt.date]:
    cached = getattr(team, "_closed_day_dates", None)
    if cached is None:
        if team.pk is None:
            cached = frozenset()
        else:
            cached = frozenset(team.closed_days.values_list("date", flat=True))
        team._closed_day_dates = cached
    return cached


def calendars_for(team_ids) -> dict:
    """{team id: Calendar} for many teams in two queries (the teams, their closed days), for a
    report that times cases of any number of teams."""
    from accounts.models import Team

    teams = Team.objects.filter(pk__in=list(team_ids)).prefetch_related("closed_days")
    out = {}
    for team in teams:
        team._closed_day_dates = frozenset(day.date for day in team.closed_days.all())
        out[team.pk] = calendar_for(team)
    return out


def calendar_for(team) -> Calendar:
    cached = getattr(team, "_business_calendar", None)
    if cached is None:
        cached = Calendar(team)
        team._business_calendar = cached
    return cached


def _require_aware(value: dt.datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def add_business_hours(team, start: dt.datetime, hours) -> dt.datetime:
    """The instant at which `hours` business hours have elapsed from `start` (UTC)."""
    _require_aware(start, "start")
    remaining = dt.timedelta(seconds=float(hours) * 3600)
    start = start.astimezone(UTC)
    if remaining <= dt.timedelta(0):
        return start
    calendar = calendar_for(team)
    day = calendar.local_date(start) - dt.timedelta(days=1)  # a span of yesterday may still be open
    for _ in range(MAX_DAYS):
        for open_at, close_at in calendar.open_intervals(day):
            begin = max(open_at, start)
            if begin >= close_at:
                continue
            available = close_at - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += dt.timedelta(days=1)
    logger.warning("team %s: no open time found within %d days; counting wall-clock time", team.pk, MAX_DAYS)
    return start + dt.timedelta(seconds=float(hours) * 3600)


def business_seconds_between(team, start: dt.datetime, end: dt.datetime) -> float:
    """Open seconds in [start, end) in the team's calendar; 0 when end is not after start."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    return calendar_for(team).clock.seconds_between(start.timestamp(), end.timestamp())


class BusinessClock:
    """Open seconds as a running total over a calendar's open intervals (POSIX seconds), so the
    open time between two instants is the difference of two lookups (a binary search each)
    rather than a walk over the days between them. The covered days grow as instants outside
    them are asked for; a report timing thousands of cases over the same months builds them once."""

    def __init__(self, calendar: Calendar):
        self.calendar = calendar
        self.first: dt.date | None = None
        self.last: dt.date | None = None
        self.low = self.high = 0.0  # the covered days, as POSIX seconds (from 2 days into them: safe for any zone)
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.before: list[float] = []  # open seconds before each interval starts

    def _local_date(self, seconds: float) -> dt.date:
        return dt.datetime.fromtimestamp(seconds, self.calendar.tz).date()

    def _cover(self, first: dt.date, last: dt.date) -> None:
        if self.first is not None and self.first <= first and last <= self.last:
            return
        if self.first is not None:
            first, last = min(first, self.first), max(last, self.last)
        starts, ends, before, total = [], [], [], 0.0
        day = first
        while day <= last:
            for open_at, close_at in self.calendar.open_intervals(day):
                a, b = open_at.timestamp(), close_at.timestamp()
                if ends and a < ends[-1]:  # a span running past midnight into the next day's
                    a = ends[-1]
                if b > a:
                    starts.append(a)
                    ends.append(b)
                    before.append(total)
                    total += b - a
            day += dt.timedelta(days=1)
        self.first, self.last, self.starts, self.ends, self.before = first, last, starts, ends, before
        self.low = dt.datetime.combine(first + dt.timedelta(days=2), dt.time(), UTC).timestamp()
        self.high = dt.datetime.combine(last - dt.timedelta(days=1), dt.time(), UTC).timestamp()

    def _open_until(self, seconds: float) -> float:
        index = bisect.bisect_right(self.starts, seconds) - 1
        if index < 0:
            return 0.0
        return self.before[index] + min(seconds, self.ends[index]) - self.starts[index]

    def seconds_between(self, start: float, end: float) -> float:
        if end <= start:
            return 0.0
        if self.low <= start and end <= self.high:  # inside the covered days: no date arithmetic
            return self._open_until(end) - self._open_until(start)
        # A span of the day before may still be open at `start`.
        self._cover(self._local_date(start) - dt.timedelta(days=1), self._local_date(end))
        return self._open_until(end) - self._open_until(start)


def is_open(team, instant: dt.datetime) -> bool:
    """Whether the team is open at `instant`."""
    _require_aware(instant, "instant")
    instant = instant.astimezone(UTC)
    calendar = calendar_for(team)
    day = calendar.local_date(instant)
    for candidate in (day - dt.timedelta(days=1), day):
        for open_at, close_at in calendar.open_intervals(candidate):
            if open_at <= instant < close_at:
                return True
    return False
