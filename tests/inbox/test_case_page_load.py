"""The case page's case (cases.views.case_page.load_case) and its events (selectors.case_events),
read from statements compiled once per process (core.compiled) and built by core.lean: the same
instances, related rows and visibility as the ORM's select_related query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import selectors, services
from cases.models import Case
from cases.views.case_page import CASE_RELATED, load_case
from tests.inbox.helpers import make_case, make_customer, root_causes

pytestmark = pytest.mark.django_db

PATHS = ("team", "assignee", "customer", "response", "response.survey", "alert", "alert.rule", "root_cause",
         "root_cause.category", "closed_by")


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def _orm(user, reference):
    return selectors.case_list_for_user(user).select_related(*CASE_RELATED).filter(reference=reference).first()


def _assert_same(ours: Case, orms: Case):
    assert type(ours) is Case and ours.pk == orms.pk
    with CaptureQueriesContext(connection) as ran:
        for path in ("", *PATHS):
            mine, theirs = ours, orms
            for part in filter(None, path.split(".")):
                mine = getattr(mine, part) if mine is not None else None
                theirs = getattr(theirs, part) if theirs is not None else None
            assert (mine is None) == (theirs is None), path
            if mine is not None:
                assert type(mine) is type(theirs) and _fields(mine) == _fields(theirs), path
    assert len(ran) == 0  # every related row the page reads came with the case


def test_load_case_is_the_orms_case_with_every_related_row(personas):
    cause = next(iter(root_causes().values()))
    open_case = make_case(personas.north, assignee=personas.alice, customer=make_customer(name='<b>Ann</b>'))
    closed = make_case(personas.north, assignee=personas.bob, first_contact_in=-timedelta(hours=2))
    services.case_close(case_id=closed.pk, by=personas.bob, root_cause_id=cause.pk, resolution="Refunded",
                        outcome="resolved", expected_version=closed.version)
    bare = make_case(personas.north)
    Case.objects.filter(pk=bare.pk).update(customer=None, alert=None)
    for user in (personas.alice, personas.mia, personas.adam):
        for case in (open_case, closed, bare):
            _assert_same(load_case(user, case.reference), _orm(user, case.reference))
    loaded = load_case(personas.alice, closed.reference)
    assert (loaded.root_cause.name, loaded.closed_by.username, loaded.status) == (cause.name, "bob", "closed")


def test_load_case_keeps_other_teams_cases_out(personas):
    south = make_case(personas.south, assignee=personas.charlie)
    for user in (personas.alice, personas.bob, personas.mia):
        with pytest.raises(Http404):
            load_case(user, south.reference)
    assert load_case(personas.charlie, south.reference).pk == south.pk
    assert load_case(personas.adam, south.reference).pk == south.pk
    with pytest.raises(Http404):
        load_case(personas.adam, "CL-NOPE")


def test_case_events_are_the_orms_newest_first(personas):
    case = make_case(personas.north, assignee=personas.alice)
    now = timezone.now()
    for i in range(3):
        case = services.case_add_note(case_id=case.pk, by=personas.alice, note=f"note {i}", expected_version=case.version)
    events = selectors.case_events(case)
    orm = list(case.events.select_related("actor").order_by("-created_at", "-id"))
    assert [e.pk for e in events] == [e.pk for e in orm] and len(events) == 4
    assert [e.note for e in events[:3]] == ["note 2", "note 1", "note 0"]
    for mine, theirs in zip(events, orm, strict=True):
        assert _fields(mine) == _fields(theirs)
        assert (mine.actor.display_name if mine.actor_id else None) == (theirs.actor.display_name if theirs.actor_id else None)
    assert all(e.created_at <= now + timedelta(minutes=1) for e in events)


def test_the_customer_cards_earlier_rows_are_the_orms(personas):
    """cases.views.case_page._earlier: the same earlier responses (with their surveys) and
    earlier cases as the ORM's queries, per person: another team's response shows only when
    attached to this case, another team's case never (except to an admin)."""
    from django.db.models import Q

    from accounts.selectors import scope_by_team
    from cases.models import CaseResponse
    from cases.views.case_page import EARLIER_CASE_FIELDS, _earlier
    from surveys.models import SurveyResponse
    from tests.inbox.helpers import make_response

    customer = make_customer(name="Returning Rita")
    older = make_case(personas.north, customer=customer, comment="first time <b>bad</b>")
    south_case = make_case(personas.south, customer=customer)
    case = make_case(personas.north, customer=customer, assignee=personas.alice)
    make_response(customer=customer, team=personas.north, comment="a north answer")
    south_only = make_response(customer=customer, team=personas.south, comment="a south answer")
    attached = make_response(customer=customer, team=personas.south, comment="attached from south")
    CaseResponse.objects.create(case=case, response=attached, attached_at=timezone.now())
    for user in (personas.alice, personas.mia, personas.adam):
        loaded = load_case(user, case.reference)
        responses, cases = _earlier(user, loaded)
        linked = Q(pk__in=loaded.case_responses.values("response_id"))
        orm = SurveyResponse.objects.filter(customer=customer).exclude(pk=loaded.response_id)
        orm = orm.filter(linked | Q(pk__in=scope_by_team(orm, user).values("pk")))
        orm = list(orm.select_related("survey").order_by("-answered_at")[:51])
        assert [r.pk for r in responses] == [r.pk for r in orm], user.username
        for mine, theirs in zip(responses, orm, strict=True):
            assert _fields(mine) == _fields(theirs) and _fields(mine.survey) == _fields(theirs.survey)
        orm_cases = list(selectors.case_list_for_user(user).filter(customer=customer).exclude(pk=loaded.pk)
                         .select_related(None).select_related("root_cause", "team").only(*EARLIER_CASE_FIELDS)
                         .order_by("-created_at")[:51])
        assert ([(c.reference, c.status, c.created_at, c.team.name, c.root_cause) for c in cases]
                == [(c.reference, c.status, c.created_at, c.team.name, c.root_cause) for c in orm_cases])
        seen = {r.pk for r in responses}
        assert attached.pk in seen and older.response_id in seen
        assert (south_only.pk in seen) is (user == personas.adam), user.username
        assert (south_case.pk in {c.pk for c in cases}) is (user == personas.adam), user.username
