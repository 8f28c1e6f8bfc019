"""The rules themselves (accounts.validation, cases.validation, organisation.hours), literal messages."""

from __future__ import annotations

import pytest

from accounts.validation import holiday_problems, opening_hours_problems, sla_problems, timezone_problem
from organisation.hours import Row, editor_rows, stored_hours

MONDAY_KEY = "“monday” is not a weekday key: use the keys mon, tue, wed, thu, fri, sat and sun."
NINE = "Monday: “9” is not a time: write HH:MM on a 24-hour clock, e.g. 09:00 or 17:30."
BACKWARDS = ("Monday: 18:00–08:00 ends before it starts. For an overnight shift write 18:00–24:00 on mon and "
             "00:00–08:00 on tue (the weekly editor's “ends next day” box does this).")


@pytest.mark.parametrize("hours, message", [
    ({"monday": [["09:00", "17:00"]]}, MONDAY_KEY),
    ({"mon": [["9", "17:00"]]}, NINE),
    ({"mon": [["18:00", "08:00"]]}, BACKWARDS),
    ({"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}, "Monday: 09:00–13:00 and 12:00–17:00 overlap; merge them into one span."),
    ({"mon": "09:00-17:00"}, 'Monday: give a list of spans such as [["09:00", "17:00"]], or [] for closed.'),
    ({"mon": [["24:00", "24:00"]]}, "Monday: 24:00 can only end a span (midnight at the end of the day)."),
])
def test_stored_opening_hours_that_the_clocks_would_misread_are_refused(hours, message):
    assert opening_hours_problems(hours) == [message]


def test_split_and_overnight_shifts_as_stored_are_sound():
    assert opening_hours_problems({"mon": [["09:00", "12:00"], ["13:00", "17:00"], ["22:00", "24:00"]],
                                   "tue": [["00:00", "06:00"]], "sat": []}) == []


def test_the_editor_stores_an_overnight_row_as_two_spans_and_shows_it_as_one_row_again():
    rows = {"mon": [Row("09:00", "12:00"), Row("13:00", "17:00"), Row("22:00", "06:00", overnight=True)],
            "sun": [Row("22:00", "06:00", overnight=True)]}
    hours, errors = stored_hours(rows)
    assert errors == {}
    assert hours == {"mon": [["00:00", "06:00"], ["09:00", "12:00"], ["13:00", "17:00"], ["22:00", "24:00"]],
                     "tue": [["00:00", "06:00"]], "wed": [], "thu": [], "fri": [], "sat": [], "sun": [["22:00", "24:00"]]}
    again = editor_rows(hours)
    assert again["mon"] == [Row("09:00", "12:00"), Row("13:00", "17:00"), Row("22:00", "06:00", True)]
    assert again["sun"] == [Row("22:00", "06:00", True)] and again["tue"] == []


def test_the_editor_refuses_a_backwards_row_a_bare_hour_and_a_day_name():
    _, errors = stored_hours({"mon": [Row("18:00", "08:00")], "tue": [Row("9", "17:00")], "wed": [Row("monday", "17:00")],
                              "thu": [Row("09:00", "")]})
    assert errors == {
        "mon-0-end": "18:00–08:00 ends before it starts: tick “ends next day” for an overnight shift "
                     "(Monday 18:00 to Tuesday 08:00).",
        "tue-0-start": "“9” is not a time: write HH:MM on a 24-hour clock, e.g. 09:00 or 17:30.",
        "wed-0-start": "“monday” is not a time: write HH:MM on a 24-hour clock, e.g. 09:00 or 17:30.",
        "thu-0-end": "Give both the start and the end, or clear both.",
    }


def test_time_zone_and_holiday_calendar():
    assert timezone_problem("Europe/Londn") == ("“Europe/Londn” is not a time zone: use an IANA name such as "
                                                "Europe/London or America/New_York.")
    assert timezone_problem("Europe/London") is None
    assert holiday_problems("GB", "SCT") == {}
    assert holiday_problems("XX", "") == {"holiday_country": [
        "“XX” is not a country the holidays calendar knows: use a two-letter ISO code such as GB, US or DE."]}
    assert holiday_problems("GB", "ZZ") == {"holiday_subdivision": [
        "“ZZ” is not a region of GB: choose one of ENG, NIR, SCT, WLS, or leave it blank."]}


@pytest.mark.parametrize("first, resolution, problems", [
    (-4, 8, {"first_contact_hours": ["Give a positive number of business hours, e.g. 4 (-4 is not a target)."]}),
    (0, 8, {"first_contact_hours": ["Give a positive number of business hours, e.g. 4 (0 is not a target)."]}),
    (4, -1, {"resolution_hours": ["Give a positive number of business hours, e.g. 4 (-1 is not a target)."]}),
    (8, 4, {"resolution_hours": ["Resolution (4 h) cannot be due before first contact (8 h): give at least 8."]}),
    (4, 40, {}),
])
def test_sla_targets(first, resolution, problems):
    assert sla_problems(first, resolution) == problems
