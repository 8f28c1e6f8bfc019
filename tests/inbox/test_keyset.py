"""Keyset pagination walks any ordering (NULLs included, either direction) exactly once, forwards
and backwards, in one query per page."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import keyset
from cases.models import Case
from tests.inbox.helpers import make_case

ORDERINGS = [
    ("first_contacted_at", "id"),  # NULLs last ascending
    ("-first_contacted_at",),  # NULLs first descending, pk appended
    (F("first_contacted_at").asc(nulls_first=True), "-priority"),
    (F("first_contacted_at").desc(nulls_last=True), "-value_at_risk"),
    ("priority", "-created_at"),
    # every key one way and never NULL: one row-value comparison per page
    ("priority", "created_at"),
    ("-created_at",),
    ("-priority", "-value_at_risk", "-id"),
]


@pytest.fixture
def cases(personas):
    now = timezone.now()
    made = []
    for i in range(11):
        case = make_case(personas.north, priority=["low", "normal", "high"][i % 3])
        if i % 3:  # some contacted (some at the same moment), some not
            Case.objects.filter(pk=case.pk).update(first_contacted_at=now - timedelta(minutes=i % 4))
        made.append(case)
    return made


def walk(queryset, size):
    pages, page = [], keyset.paginate(queryset, size=size)
    pages.append(page)
    while page.has_next and len(pages) < 20:
        page = keyset.paginate(queryset, after=page.next_cursor, size=size)
        pages.append(page)
    return pages


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_it_walks_every_row_once_in_order(cases, ordering, django_assert_num_queries):
    queryset = Case.objects.order_by(*ordering)
    expected = list(queryset.order_by(*ordering, "pk").values_list("pk", flat=True))
    pages = walk(queryset, size=4)
    assert [row.pk for page in pages for row in page.rows] == expected
    # and backwards from the last page
    back, page = [], pages[-1]
    while page.has_prev:
        page = keyset.paginate(queryset, before=page.prev_cursor, size=4)
        back = [row.pk for row in page.rows] + back
    assert back + [row.pk for row in pages[-1].rows] == expected
    with django_assert_num_queries(1):
        keyset.paginate(queryset, after=pages[0].next_cursor, size=4)


def test_the_first_page_has_no_previous_and_the_last_no_next(cases):
    pages = walk(Case.objects.order_by("id"), size=5)
    assert not pages[0].has_prev and pages[0].has_next
    assert pages[-1].has_prev and not pages[-1].has_next


@pytest.mark.parametrize("cursor", ["", "!!", "W10", "eyJ4IjoxfQ", keyset.encode_cursor([1, 2, 3, 4, 5, 6, 7])])
def test_a_bad_cursor_means_the_first_page(cases, cursor):
    queryset = Case.objects.order_by("id")
    assert [r.pk for r in keyset.paginate(queryset, after=cursor, size=3).rows] == \
        [r.pk for r in keyset.paginate(queryset, size=3).rows]


@pytest.mark.parametrize("values", [["not a date", 1], [1, 2], [{"x": 1}, 3], ["2026-01-01T00:00:00+00:00", "x"]])
def test_a_cursor_whose_values_do_not_fit_the_keys_means_the_first_page(cases, values):
    """A crafted cursor with values of the wrong type (text for a datetime, text for an id) is the
    first page, on either seek (row comparison or OR expansion), never a database error."""
    for ordering in (("-created_at", "-id"), ("first_contacted_at", "id")):
        queryset = Case.objects.order_by(*ordering)
        cursor = base64.urlsafe_b64encode(json.dumps([["v", v] for v in values]).encode()).decode()
        assert [r.pk for r in keyset.paginate(queryset, after=cursor, size=3).rows] == \
            [r.pk for r in keyset.paginate(queryset, size=3).rows]


def test_a_later_page_of_one_direction_is_one_row_comparison(cases):
    queryset = Case.objects.order_by("-created_at", "-id")
    first = keyset.paginate(queryset, size=3)
    with CaptureQueriesContext(connection) as queries:
        keyset.paginate(queryset, after=first.next_cursor, size=3)
    where = queries.captured_queries[0]["sql"].split(" WHERE ", 1)[1]
    assert ") < (" in where and " OR " not in where
