"""The inbox's rows read as values and built into cases by core.lean: the same cases, related
rows and printed rows as the ORM's select_related(...).only(...), with no query per row."""

from __future__ import annotations

from django.http import QueryDict
from django.utils import timezone

from cases import keyset
from cases.columns import choose_columns
from cases.filtersets import inbox_filterset
from cases.models import Case
from cases.rows import inbox_rows, render_rows
from cases.views.inbox_lists import row_fields, row_queryset
from core.lean import lean_instances
from tests.inbox.helpers import make_case, make_customer

EVERY_COLUMN = QueryDict("&".join(f"columns={key}" for key in (
    "case", "status", "score", "comment", "customer", "touchpoint", "value", "owner", "age", "sla", "due")))


def _orm_cases(user, query: str, size: int) -> list[Case]:
    """The rows as the page read them before core.lean (model instances of six tables)."""
    filterset = inbox_filterset(user, QueryDict(query))
    related = ("response", "customer", "team", "assignee", "alert__rule")
    queryset = filterset.qs.select_related(None).select_related(*related).only(*row_fields())
    return keyset.paginate(queryset, size=size).rows


def _lean_cases(user, query: str, size: int) -> list[Case]:
    rows = row_queryset(inbox_filterset(user, QueryDict(query)))
    return lean_instances(Case, keyset.paginate(rows, size=size).rows, row_fields(), using=rows.db)


def test_lean_rows_are_the_orms_cases_and_print_the_same(personas, django_assert_num_queries):
    make_case(personas.north, assignee=personas.alice,
              customer=make_customer(name='<b>Ann</b> & "Co"', email="ann@example.com"),
              comment="<script>alert(1)</script>\nsecond line")
    no_customer = make_case(personas.north, comment="")
    Case.objects.filter(pk=no_customer.pk).update(customer=None, alert=None)
    make_case(personas.north, assignee=personas.bob, priority="urgent")
    make_case(personas.south, assignee=personas.charlie)  # not alice's: in neither list

    orm = _orm_cases(personas.alice, "view=team", 50)
    lean = _lean_cases(personas.alice, "view=team", 50)

    assert [c.pk for c in lean] == [c.pk for c in orm] and len(lean) == 3
    related = ("response", "customer", "team", "assignee", "alert")
    with django_assert_num_queries(0):
        for mine, theirs in zip(lean, orm, strict=True):
            for name in row_fields():
                if "__" not in name:
                    assert getattr(mine, name) == getattr(theirs, name), name
            for name in related:
                assert getattr(mine, name) == getattr(theirs, name), name
            for name in row_fields():
                if "__" in name:
                    path = name.split("__")
                    ours, orms = mine, theirs
                    for part in path:
                        ours, orms = getattr(ours, part, None), getattr(orms, part, None)
                    assert ours == orms, name
            assert mine._state.adding is False and mine._state.db == theirs._state.db
        now = timezone.now()
        for columns in (choose_columns(QueryDict()), choose_columns(EVERY_COLUMN)):
            assert render_rows(inbox_rows(lean, now, columns), columns) == render_rows(inbox_rows(orm, now, columns), columns)
    html = render_rows(inbox_rows(lean, timezone.now()))
    assert "&lt;b&gt;Ann&lt;/b&gt; &amp; &#34;Co&#34;" in html and "<b>Ann</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_field_not_read_is_loaded_when_asked_for_as_with_only(personas, django_assert_num_queries):
    case = make_case(personas.north, assignee=personas.alice)
    Case.objects.filter(pk=case.pk).update(resolution="Refund sent")
    (lean,) = _lean_cases(personas.alice, "view=team", 50)
    assert "resolution" not in vars(lean)
    with django_assert_num_queries(1):
        assert lean.resolution == "Refund sent"


def test_the_case_pages_events_are_the_orms_with_their_actors_names(personas, django_assert_num_queries):
    from cases.models import CaseEvent
    from cases.selectors import case_events
    from cases.services import case_add_note, case_claim
    from tests.inbox.helpers import open_case

    case = open_case(personas.north)
    case = case_claim(case_id=case.pk, by=personas.bob)
    case = case_add_note(case_id=case.pk, by=personas.alice, note="<b>Called</b>")
    orm = list(case.events.select_related("actor").order_by("-created_at", "-id"))
    with django_assert_num_queries(1):
        lean = case_events(case)
    assert len(lean) == len(orm) >= 3
    with django_assert_num_queries(0):
        for mine, theirs in zip(lean, orm, strict=True):
            for field in CaseEvent._meta.concrete_fields:
                assert getattr(mine, field.attname) == getattr(theirs, field.attname), field.attname
            assert (mine.actor.display_name if mine.actor else None) == (theirs.actor.display_name if theirs.actor else None)
