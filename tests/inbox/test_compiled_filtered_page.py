"""The first page of a filtered inbox (a saved view: priorities, statuses, teams, people, root
causes, a sort) runs its list and its count from statements compiled once per shape
(cases.views.inbox_lists.filtered_first_page, core.compiled): the same rows, cursors and count as
the list built for every request (row_queryset + keyset.paginate, FilterSet.qs.count()), for
every kind of person; any other list is built as before."""

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
from cases.views.inbox_lists import filtered_first_page, row_queryset
from core import compiled
from tests.factories import make_user
from tests.inbox.helpers import case_rows, make_case, make_customer, root_causes

pytestmark = pytest.mark.django_db


def _cases(personas):
    north, south, alice, bob = personas.north, personas.south, personas.alice, personas.bob
    causes = root_causes()
    make_case(north, assignee=alice, customer=make_customer(name='<b>Ann</b> & "Co"'), priority="urgent")
    make_case(north, assignee=alice, first_contact_in=-timedelta(hours=1), priority="high")
    make_case(north, first_contact_in=timedelta(hours=1), priority="high")
    make_case(north, assignee=bob, resolution_in=-timedelta(minutes=5), priority="low",
              status=Case.Status.IN_PROGRESS, root_cause=causes["wait"])
    make_case(north, assignee=bob, priority="urgent", root_cause=causes["defect"])
    make_case(south, assignee=personas.charlie, first_contact_in=-timedelta(hours=3), priority="urgent")
    make_case(south, priority="high", status=Case.Status.IN_PROGRESS)
    return causes


# Literal: each list and whether its statements compile (a filter whose statement has the same
# text for every value: the values of a few choices in the key, ids as parameters).
QUERIES = [
    ("view=team&priority=high&priority=urgent&sort=newest", True),  # the bench's saved view
    ("view=team&priority=low", True),
    ("view=mine&status=new&status=in_progress", True),
    ("view=unassigned&priority=high&unassigned=true", True),
    ("view=team&team={north}&assignee={bob}", True),
    ("view=team&assignee={alice}&assignee={bob}&sort=priority", True),
    ("view=team&root_cause={wait}&root_cause={defect}", True),
    ("view=overdue&priority=urgent&priority=high", True),
    ("view=team&status=overdue", False),  # the filter reads the clock
    ("view=team&status=new&status=due_soon", False),
    ("view=team&q=Ann", False),  # a search: built per request
    ("view=team&priority=high&after=abc", False),  # a cursor
    ("view=team&priority=nonsense", False),  # refused by the form
    ("view=team&view=mine&priority=high", False),
]


def _decoded(rows: list[dict]) -> list[dict]:
    """The rows with their JSON decoded (the compiled list hands it over as sent: core.compiled.Raw)."""
    return [{key: json.loads(value) if type(value) is compiled.Raw else value for key, value in row.items()}
            for row in rows]


def _query(template: str, personas, causes) -> QueryDict:
    return QueryDict(template.format(north=personas.north.pk, bob=personas.bob.pk, alice=personas.alice.pk,
                                     wait=causes["wait"].pk, defect=causes["defect"].pk))


def test_a_filtered_first_page_is_the_built_page_for_every_list_and_person(personas):
    causes = _cases(personas)
    now = timezone.now()
    compiled._cache.clear()
    for user in (personas.alice, personas.bob, personas.charlie, personas.mia, personas.adam):
        for template, compiles in QUERIES:
            params = _query(template, personas, causes)
            view = params.get("view")
            filterset = inbox_filterset(user, params, now=now)
            fast = filtered_first_page(user, filterset.form, params, view, 2, now, count=True)
            where = (user.username, template)
            # A team or person the viewer cannot see: the form refuses it (the page says so).
            if not compiles or not filterset.form.is_valid():
                assert fast is None, where
                continue
            built = keyset.paginate(row_queryset(inbox_filterset(user, params, now=now)), size=2)
            assert fast is not None, where
            page, count = fast
            assert _decoded(page.rows) == built.rows, where
            assert (page.next_cursor, page.prev_cursor) == (built.next_cursor, built.prev_cursor), where
            assert count == inbox_filterset(user, params, now=now).qs.count(), where
    kept = [inner for _using, *rest in compiled._cache for inner in rest
            if isinstance(inner, tuple) and inner[0] in ("inbox.filtered_page", "inbox.filtered_count")]
    compiled_keys = [inner for inner in kept if compiled.is_compiled(inner)]
    # On PostgreSQL every shape compiles; SQLite adapts the moment to text ("Overdue" stays built).
    if connection.vendor == "postgresql":
        assert len(compiled_keys) == len(kept) > 0


def test_the_page_shows_the_same_list_and_count_as_built(personas, client):
    """Through the view, a saved view's filters (compiled) and the same filters with a search that
    matches every case (built) print the same rows and the same count."""
    _cases(personas)
    client.force_login(personas.alice)
    fast = client.get("/cases/?view=team&priority=high&priority=urgent&sort=newest").content.decode()
    built = client.get("/cases/?view=team&priority=high&priority=urgent&sort=newest&q=queue").content.decode()
    rows = case_rows(fast)
    assert len(rows) == 4
    assert rows == case_rows(built)
    assert "&lt;b&gt;Ann&lt;/b&gt; &amp; &#34;Co&#34;" in fast
    assert '<span data-count="4">4</span> cases match these filters' in fast
    assert '<span data-count="4">4</span> cases match these filters' in built


def test_the_compiled_statements_are_the_built_ones(personas):
    """The SQL run (parameters bound) is the SQL the built queryset and its count run."""
    causes = _cases(personas)
    now = timezone.now()
    for user in (personas.alice, personas.adam):
        params = _query("view=team&priority=high&team={north}&sort=due", personas, causes)
        filterset = inbox_filterset(user, params, now=now)
        filterset.form.is_valid()
        with CaptureQueriesContext(connection) as built:
            keyset.paginate(row_queryset(filterset), size=50)
            filterset.qs.count()
        filterset = inbox_filterset(user, params, now=now)
        filterset.form.is_valid()
        filtered_first_page(user, filterset.form, params, "team", 50, now, count=True)  # compiles
        filterset = inbox_filterset(user, params, now=now)
        filterset.form.is_valid()
        with CaptureQueriesContext(connection) as fast:
            filtered_first_page(user, filterset.form, params, "team", 50, now, count=True)
        assert [q["sql"] for q in fast.captured_queries] == [q["sql"] for q in built.captured_queries[-2:]]


def test_someone_in_no_team_is_built_as_before(personas):
    nobody = make_user("nobody")
    params = QueryDict("view=team&priority=high")
    form = inbox_filterset(nobody, params).form
    assert filtered_first_page(nobody, form, params, "team", 50, timezone.now(), count=True) is None


def test_a_statement_that_leaves_out_a_required_argument_is_not_compiled(personas):
    """core.compiled's `required`: a builder that drops a value it does not know (as a filter may)
    would compile a statement without that condition from the sentinels; it is built instead."""
    _cases(personas)

    def build(args):
        known = [pk for pk in args["teams"] if pk > 0]  # sentinels are negative: dropped
        queryset = Case.objects.all()
        return (queryset.filter(team_id__in=known) if known else queryset).values("id")

    args = {"teams": (personas.south.pk,)}
    south = set(Case.objects.filter(team=personas.south).values_list("id", flat=True))
    key = ("test.required",)
    assert {row["id"] for row in compiled.compiled_values(key, build, args, required=("teams",))} == south
    assert not compiled.is_compiled(key)
    assert compiled.compiled_count(key, lambda a: Case.objects.filter(team_id__in=[pk for pk in a["teams"] if pk > 0]),
                                   args, required=("teams",)) == len(south)
    assert not compiled.is_compiled(key)
