"""Business-time math: properties over DST transitions, holidays and opening-hour edges."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import ClosedDay, Team, default_opening_hours
from cases.calendar import add_business_hours, business_seconds_between, calendar_for, is_open

UTC = dt.UTC

ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Europe/Madrid", "UTC", "Asia/Kolkata"]
HOLIDAYS = {"Europe/London": ("GB", "ENG"), "America/New_York": ("US", "NY"), "Australia/Sydney": ("AU", "NSW"),
            "Europe/Madrid": ("ES", "MD"), "UTC": ("", ""), "Asia/Kolkata": ("", "")}
SHAPES = {
    "office": default_opening_hours(),
    "split": {d: [["08:30", "12:00"], ["13:00", "18:15"]] for d in ["mon", "tue", "wed", "thu", "fri"]},
    "always": {d: [["00:00", "24:00"]] for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
    "night": {d: [["00:00", "03:30"], ["22:00", "24:00"]] for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
    "weekend": {"sat": [["10:00", "16:00"]], "sun": [["01:00", "03:00"]]},
}


def team(zone="Europe/London", shape="office", holidays=True) -> Team:
    country, subdivision = HOLIDAYS[zone] if holidays else ("", "")
    return Team(name="T", slug="t", timezone=zone, opening_hours=SHAPES[shape],
                holiday_country=country, holiday_subdivision=subdivision)


# Instants clustered around DST changes (spring and autumn in both hemispheres) and New Year.
ANCHORS = [dt.datetime(y, m, d, tzinfo=UTC) for y in (2025, 2026) for m, d in ((3, 8), (3, 29), (4, 5), (10, 4),
                                                                             (10, 25), (11, 1), (12, 24))]
instants = st.builds(
    lambda anchor, minutes: anchor + dt.timedelta(minutes=minutes),
    st.sampled_from(ANCHORS), st.integers(min_value=-4 * 24 * 60, max_value=4 * 24 * 60),
)
hours = st.decimals(min_value=0, max_value=80, places=2)
calendars = st.builds(team, st.sampled_from(ZONES), st.sampled_from(list(SHAPES)), st.booleans())


@settings(max_examples=300, deadline=None)
@given(calendars, instants, hours)
def test_the_business_time_between_start_and_due_is_what_was_added(t, start, h):
    due = add_business_hours(t, start, h)
    assert due >= start
    assert business_seconds_between(t, start, due) == pytest.approx(float(h) * 3600, abs=1e-3)


@settings(max_examples=200, deadline=None)
@given(calendars, instants, hours, hours)
def test_adding_in_two_steps_equals_adding_once(t, start, a, b):
    assert add_business_hours(t, add_business_hours(t, start, a), b) == add_business_hours(t, start, a + b)


@settings(max_examples=200, deadline=None)
@given(calendars, instants, hours, hours)
def test_more_hours_never_end_earlier(t, start, a, b):
    low, high = sorted([a, b])
    assert add_business_hours(t, start, low) <= add_business_hours(t, start, high)


@settings(max_examples=200, deadline=None)
@given(calendars, instants, st.decimals(min_value="0.01", max_value=80, places=2))
def test_a_due_time_lands_on_an_open_moment_of_an_open_day(t, start, h):
    due = add_business_hours(t, start, h)
    just_before = due - dt.timedelta(microseconds=1)
    assert is_open(t, just_before)
    calendar = calendar_for(t)
    assert not calendar.is_closed_day(just_before.astimezone(calendar.tz).date())


@settings(max_examples=200, deadline=None)
@given(calendars, instants, instants, instants)
def test_business_seconds_add_up_over_a_split(t, a, b, c):
    start, middle, end = sorted([a, b, c])
    assert business_seconds_between(t, start, end) == pytest.approx(
        business_seconds_between(t, start, middle) + business_seconds_between(t, middle, end), abs=1e-3)


def test_a_24_hour_day_is_23_hours_on_spring_forward_and_25_in_autumn():
    t = team("Europe/London", "always", holidays=False)
    london = ZoneInfo("Europe/London")
    spring = dt.datetime(2026, 3, 29, tzinfo=london)
    autumn = dt.datetime(2026, 10, 25, tzinfo=london)
    assert business_seconds_between(t, spring, spring + dt.timedelta(days=1)) == 23 * 3600
    assert business_seconds_between(t, autumn, autumn + dt.timedelta(days=1)) == 25 * 3600


def test_opening_hours_follow_local_wall_clock_across_dst():
    t = team("Europe/London", "office", holidays=False)
    # Friday 16:00 London (GMT) + 2 business hours = Monday 10:00 London, which is BST (09:00 UTC).
    start = dt.datetime(2026, 3, 27, 16, 0, tzinfo=ZoneInfo("Europe/London"))
    due = add_business_hours(t, start, 2)
    assert due == dt.datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


def test_public_holidays_of_the_region_are_skipped():
    t = team("Europe/London", "office")
    # Thursday 24 Dec 2026 16:00 + 2 h: Christmas (Fri), the weekend and Boxing Day (observed Mon 28th)
    # are closed, so the clock resumes on Tuesday 29 Dec at 09:00 and ends at 10:00.
    start = dt.datetime(2026, 12, 24, 16, 0, tzinfo=ZoneInfo("Europe/London"))
    assert add_business_hours(t, start, 2) == dt.datetime(2026, 12, 29, 10, 0, tzinfo=UTC)


def test_at_closing_time_the_clock_waits_for_the_next_opening():
    t = team("America/New_York", "office", holidays=False)
    ny = ZoneInfo("America/New_York")
    at_close = dt.datetime(2026, 6, 10, 17, 0, tzinfo=ny)
    assert add_business_hours(t, at_close, 1) == dt.datetime(2026, 6, 11, 10, 0, tzinfo=ny)
    assert business_seconds_between(t, at_close, dt.datetime(2026, 6, 11, 9, 0, tzinfo=ny)) == 0


@pytest.mark.django_db
def test_a_closed_day_stops_the_clock():
    t = Team.objects.create(name="Store", slug="store", timezone="Europe/Madrid", opening_hours=SHAPES["office"])
    ClosedDay.objects.create(team=t, date=dt.date(2026, 6, 10), name="Stock-take")
    madrid = ZoneInfo("Europe/Madrid")
    due = add_business_hours(Team.objects.get(pk=t.pk), dt.datetime(2026, 6, 9, 16, 0, tzinfo=madrid), 2)
    assert due == dt.datetime(2026, 6, 11, 10, 0, tzinfo=madrid)


def test_a_team_without_opening_hours_runs_the_clock_all_the_time():
    t = Team(name="T", slug="t", timezone="UTC", opening_hours={})
    start = dt.datetime(2026, 6, 13, 23, 0, tzinfo=UTC)  # Saturday night
    assert add_business_hours(t, start, 3) == start + dt.timedelta(hours=3)


@settings(max_examples=200, deadline=None)
@given(calendars, st.lists(st.tuples(instants, instants), min_size=2, max_size=6))
def test_a_calendar_asked_many_times_answers_as_a_fresh_one(t, pairs):
    """One team's running total of open time grows with the instants asked for (a report asks
    thousands, in any order): each answer equals the one a calendar built for that pair alone gives."""
    from cases.calendar import Calendar

    for start, end in pairs:
        fresh = Calendar(t).clock.seconds_between(start.timestamp(), end.timestamp())
        assert business_seconds_between(t, start, end) == pytest.approx(fresh, abs=1e-6)
        assert calendar_for(t).clock.seconds_between(start.timestamp(), end.timestamp()) == pytest.approx(
            sum(
                (min(b, end) - max(a, start)).total_seconds()
                for day in range((end - start).days + 3)
                for a, b in Calendar(t).open_intervals(calendar_for(t).local_date(start) - dt.timedelta(days=1 - day))
                if min(b, end) > max(a, start)
            ) if end > start else 0.0,
            abs=1e-6,
        )
