"""The inbox's first page without filters runs its list query compiled once per process
(cases.views.inbox_lists.first_page, core.compiled): the same statement, rows and cursors as the query
built for every request (row_queryset + keyset.paginate), for every view, sort and kind of person;
any other list is built as before."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import keyset
from cases.filtersets import inbox_filterset
from cases.models import Case
from cases.ordering import SORTS
from cases.selectors import INBOX_VIEWS
from cases.views.inbox_lists import first_page, row_queryset
from core import compiled
from tests.factories import make_user
from tests.inbox.helpers import case_rows, make_case, make_customer, root_causes

pytestmark = pytest.mark.django_db

# Literal: the views whose statement compiles (the moment, when used, is a parameter as given);
# "Due soon" and "Recently closed" derive a bound from the moment (now + 2 h, now - 7 days), so
# they are built as before.
COMPILED_VIEWS = {"mine", "unassigned", "team", "overdue"}


def _cases(personas):
    north, south, alice, bob = personas.north, personas.south, personas.alice, personas.bob
    make_case(north, assignee=alice, customer=make_customer(name='<b>Ann</b> & "Co"'), priority="urgent")
    make_case(north, assignee=alice, first_contact_in=-timedelta(hours=1))  # overdue
    make_case(north, first_contact_in=timedelta(hours=1))  # due soon, unassigned
    make_case(north, assignee=bob, resolution_in=-timedelta(minutes=5), priority="low")
    make_case(north, assignee=bob, first_contact_in=timedelta(hours=5), resolution_in=timedelta(minutes=90))
    make_case(south, assignee=personas.charlie, first_contact_in=-timedelta(hours=3))
    make_case(south, priority="high")
    now = timezone.now()
    cause = next(iter(root_causes().values()))
    make_case(north, status=Case.Status.CLOSED, closed_at=now - timedelta(days=1), assignee=alice, root_cause=cause,
              resolution="Refunded", outcome="resolved")


def _decoded(rows: list[dict]) -> list[dict]:
    """The rows with their JSON decoded (the compiled list hands it over as sent: core.compiled.Raw)."""
    return [{key: json.loads(value) if type(value) is compiled.Raw else value for key, value in row.items()}
            for row in rows]


def _built(user, view: str, sort: str, size: int, now):
    params = QueryDict(mutable=True)
    params["view"] = view
    if sort:
        params["sort"] = sort
    return keyset.paginate(row_queryset(inbox_filterset(user, params, now=now)), size=size)


def _params(view: str, sort: str) -> QueryDict:
    params = QueryDict(mutable=True)
    params["view"] = view
    if sort:
        params["sort"] = sort
    params.setlist("columns", ["case", "score", "sla"])  # not part of the statement
    return params


def test_first_page_is_the_built_page_for_every_view_sort_and_person(personas):
    _cases(personas)
    nobody = make_user("nobody")
    now = timezone.now()
    compiled._cache.clear()
    for user in (personas.alice, personas.bob, personas.charlie, personas.mia, personas.adam):
        for view in INBOX_VIEWS:
            for sort in ["", *SORTS]:
                for size in (2,):  # 2: most lists here have a next page
                    built = _built(user, view, sort, size, now)
                    with CaptureQueriesContext(connection) as ran:
                        fast = first_page(user, _params(view, sort), view, size, now)
                    where = (user.username, view, sort, size)
                    assert fast is not None, where
                    assert _decoded(fast.rows) == built.rows, where
                    assert (fast.next_cursor, fast.prev_cursor) == (built.next_cursor, built.prev_cursor), where
                    assert len(ran) == 1, where  # the list only
    compiled_views = {inner[1] for _using, inner in compiled._cache
                      if inner[0] == "inbox.first_page" and compiled.is_compiled(inner)}
    # SQLite adapts a moment to text, so "Overdue" (the moment as a parameter) stays built there.
    assert compiled_views == (COMPILED_VIEWS if connection.vendor == "postgresql" else COMPILED_VIEWS - {"overdue"})
    # Someone in no team sees nothing, and nothing is compiled for them.
    assert first_page(nobody, _params("team", ""), "team", 50, now) is None


def test_the_compiled_statement_is_the_built_one(personas):
    """The SQL run (parameters bound) is the SQL the built queryset runs."""
    _cases(personas)
    now = timezone.now()
    for user in (personas.alice, personas.adam):
        for view in ("mine", "team", "overdue"):
            with CaptureQueriesContext(connection) as built:
                _built(user, view, "priority", 50, now)
            with CaptureQueriesContext(connection) as fast:
                first_page(user, _params(view, "priority"), view, 50, now)
            # The list's statement (the built side reads the person's teams first, once).
            assert len(fast.captured_queries) == 1
            assert fast.captured_queries[0]["sql"] == built.captured_queries[-1]["sql"]


@pytest.mark.parametrize("query", [
    "view=team&priority=high",  # a filter
    "view=team&q=Ann",  # a search
    "view=team&after=abc",  # a cursor
    "view=team&sort=nonsense",  # a sort the form refuses
    "view=team&view=mine",
])
def test_other_lists_are_built_as_before(personas, query):
    _cases(personas)
    assert first_page(personas.alice, QueryDict(query), "team", 50, timezone.now()) is None


def test_the_page_lists_the_same_cases_either_way(personas, client):
    """Through the view: the compiled first page and a filtered (built) page with a filter that
    keeps every case print the same rows."""
    _cases(personas)
    client.force_login(personas.alice)
    fast = client.get("/cases/?view=team").content.decode()
    built = client.get("/cases/?view=team&status=new&status=in_progress").content.decode()
    rows = case_rows(fast)
    assert len(rows) == 5
    assert rows == case_rows(built)
    assert "&lt;b&gt;Ann&lt;/b&gt; &amp; &#34;Co&#34;" in fast


def test_a_statement_with_a_value_derived_from_an_argument_is_not_compiled(personas):
    from cases.models import Case as CaseModel

    key = ("test.derived",)
    compiled._cache.pop(("default", key), None)

    def build(args):
        return CaseModel.objects.filter(resolution_due__lt=args["now"] + timedelta(hours=1)).values("id")

    now = timezone.now()
    assert compiled.compiled_values(key, build, {"now": now}) == []
    assert not compiled.is_compiled(key)

    key = ("test.plain",)
    compiled._cache.pop(("default", key), None)

    def plain(args):
        return CaseModel.objects.filter(resolution_due__lt=args["now"], team_id__in=args["teams"]).values("id")

    case = make_case(personas.north, resolution_in=-timedelta(hours=1))
    assert compiled.compiled_values(key, plain, {"now": now, "teams": (personas.north.pk,)}) == [{"id": case.pk}]
    assert compiled.compiled_values(key, plain, {"now": now, "teams": (personas.south.pk,)}) == []
    assert compiled.is_compiled(key) is (connection.vendor == "postgresql")


def test_the_compiled_page_shows_its_sort_and_an_empty_search_box(personas, client):
    """On the compiled first page no FilterSet is built: the sort select and the search box say
    what the request asked, as the FilterSet's form did; a search is built and keeps its words."""
    _cases(personas)
    client.force_login(personas.alice)
    page = client.get("/cases/?view=team&sort=priority").content.decode()
    assert '<option value="priority" selected>' in page
    assert 'id="filter-q" name="q" value=""' in page
    searched = client.get("/cases/?view=team&q=%3CAnn%3E").content.decode()
    assert 'id="filter-q" name="q" value="&lt;Ann&gt;"' in searched
    refused = client.get("/cases/?view=team&sort=nonsense").content.decode()
    assert 'aria-describedby="filter-sort-error"' in refused and 'id="filter-sort-error"' in refused
