"""What the case services store per case for reporting (cases.services.report_fields): business
hours to first contact and to closure, and the customer's first NPS answer after the closure."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from cases.models import Case
from cases.services import case_close, case_log_contact, case_reopen
from customers.services.merging import customer_merge, customer_unmerge
from surveys.normalized import CustomerIdentity, NormalizedResponse, Score
from surveys.services.recording import response_record
from tests.cases.conftest import (
    make_customer,
    make_response,
    make_source,
    open_case,
    root_cause,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# The default calendar: Mon-Fri 09:00-17:00 UTC. Wed 11 March 2026, noon.
WED_NOON = dt.datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
CLOSED_AT = dt.datetime(2026, 3, 12, 10, 0, tzinfo=UTC)  # Thursday 10:00


def _close(case, by, at):
    return case_close(
        case_id=case.pk,
        by=by,
        root_cause_id=root_cause().pk,
        resolution="Refunded the fee.",
        outcome="resolved",
        at=at,
    )


def _stored(case) -> tuple:
    return tuple(
        Case.objects.filter(pk=case.pk)
        .values_list(
            "first_contact_business_seconds",
            "close_business_seconds",
            "answered_again_id",
            "answered_again_at",
            "answered_again_nps",
        )
        .get()
    )


def _answer(email: str, response_id: str, at: dt.datetime, nps: int):
    normalized = NormalizedResponse(
        response_id=response_id,
        survey_id="s1",
        survey_name="Relationship",
        answered_at=at,
        scores=(Score(metric="nps", key="nps", value=nps, scale_min=0, scale_max=10),),
        customer=CustomerIdentity(email=email),
    )
    return response_record(source=make_source(), normalized=normalized)[0]


def test_contact_and_closure_store_business_hours_and_reopening_clears_them(personas):
    case = open_case(make_response(make_customer(), answered_at=WED_NOON), at=WED_NOON)
    case_log_contact(
        case_id=case.pk,
        by=personas.alice,
        channel="phone",
        outcome="reached",
        at=WED_NOON + dt.timedelta(hours=3, minutes=30),
    )
    assert _stored(case) == (
        12600.0,
        None,
        None,
        None,
        None,
    )  # 12:00 -> 15:30 Wednesday: 3.5 h
    _close(case, personas.alice, CLOSED_AT)
    # Wednesday 12:00-17:00 (5 h) and Thursday 09:00-10:00 (1 h): 6 business hours.
    assert _stored(case) == (12600.0, 21600.0, None, None, None)
    case_reopen(case_id=case.pk, by=personas.alice, reason="The customer called back.")
    assert _stored(case) == (None, None, None, None, None)


def test_an_answer_recorded_after_the_closure_is_linked_and_an_earlier_one_replaces_it(
    personas,
):
    ann = make_customer(email="ann@example.com", name="Ann")
    case = open_case(make_response(ann, answered_at=WED_NOON), at=WED_NOON)
    _close(case, personas.alice, CLOSED_AT)
    before = _answer(
        "ann@example.com", "r-before", CLOSED_AT - dt.timedelta(hours=1), 8
    )
    assert before.customer_id == ann.pk
    assert _stored(case)[2:] == (
        None,
        None,
        None,
    )  # answered before the closure: not "again"

    later = _answer("ann@example.com", "r-later", CLOSED_AT + dt.timedelta(days=3), 9)
    assert _stored(case)[2:] == (later.pk, CLOSED_AT + dt.timedelta(days=3), 9)

    # Delivered late but answered earlier (still after the closure): the first answer wins.
    sooner = _answer("ann@example.com", "r-sooner", CLOSED_AT + dt.timedelta(days=1), 7)
    assert _stored(case)[2:] == (sooner.pk, CLOSED_AT + dt.timedelta(days=1), 7)

    _answer(
        "ann@example.com", "r-later", CLOSED_AT + dt.timedelta(days=3), 9
    )  # a duplicate: nothing moves
    assert _stored(case)[2:] == (sooner.pk, CLOSED_AT + dt.timedelta(days=1), 7)


def test_a_merge_brings_the_merged_customers_answers_and_its_undo_takes_them_back(
    personas,
):
    ann, ann_again = (
        make_customer(name="Ann"),
        make_customer(name="Ann (second e-mail)"),
    )
    case = open_case(make_response(ann, answered_at=WED_NOON), at=WED_NOON)
    _close(case, personas.alice, CLOSED_AT)
    answer = make_response(
        ann_again, nps=10, answered_at=CLOSED_AT + dt.timedelta(days=2)
    )
    assert _stored(case)[2:] == (
        None,
        None,
        None,
    )  # written directly: not recorded, no link yet

    merge = customer_merge(merged_id=ann_again.pk, target_id=ann.pk, by=personas.adam)
    assert _stored(case)[2:] == (answer.pk, CLOSED_AT + dt.timedelta(days=2), 10)
    customer_unmerge(merge_id=merge.pk, by=personas.adam)
    assert _stored(case)[2:] == (None, None, None)


def test_the_fill_command_computes_what_the_services_stored_and_changes_nothing_twice(
    personas,
):
    ann = make_customer(name="Ann")
    case = open_case(make_response(ann, answered_at=WED_NOON), at=WED_NOON)
    case_log_contact(
        case_id=case.pk,
        by=personas.alice,
        channel="phone",
        outcome="reached",
        at=WED_NOON + dt.timedelta(hours=3, minutes=30),
    )
    _close(case, personas.alice, CLOSED_AT)
    answer = make_response(ann, nps=9, answered_at=CLOSED_AT + dt.timedelta(days=2))
    still_open = open_case(
        make_response(make_customer(), answered_at=WED_NOON), at=WED_NOON
    )
    expected = (12600.0, 21600.0, answer.pk, CLOSED_AT + dt.timedelta(days=2), 9)

    Case.objects.update(
        first_contact_business_seconds=None,
        close_business_seconds=None,
        answered_again=None,
        answered_again_at=None,
        answered_again_nps=None,
    )  # rows from before migration 0021
    call_command("cases_fill_report_fields", stdout=io.StringIO())
    assert _stored(case) == expected
    assert _stored(still_open) == (None, None, None, None, None)
    version = Case.objects.get(pk=case.pk).version
    call_command("cases_fill_report_fields", stdout=io.StringIO())
    assert _stored(case) == expected
    assert (
        Case.objects.get(pk=case.pk).version == version
    )  # derived columns: no edit, no version


def test_a_batch_links_each_case_to_its_customers_first_answer_after_the_closure_in_one_write(
    personas,
):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from cases.services import cases_link_answers
    from core.unit_of_work import unit_of_work

    ann, ben = make_customer(name="Ann"), make_customer(name="Ben")
    cases = {}
    for who in (ann, ben):
        cases[who.pk] = open_case(make_response(who, answered_at=WED_NOON), at=WED_NOON)
        _close(cases[who.pk], personas.alice, CLOSED_AT)
    answers = [
        make_response(ann, nps=9, answered_at=CLOSED_AT + dt.timedelta(days=3)),
        make_response(
            ann, nps=6, answered_at=CLOSED_AT + dt.timedelta(days=1)
        ),  # Ann's first after: wins
        make_response(
            ben, nps=10, answered_at=CLOSED_AT - dt.timedelta(hours=2)
        ),  # before Ben's closure
    ]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with unit_of_work() as batch:
            batch.later(lambda: cases_link_answers(responses=answers))
    assert _stored(cases[ann.pk])[2:] == (
        answers[1].pk,
        CLOSED_AT + dt.timedelta(days=1),
        6,
    )
    assert _stored(cases[ben.pk])[2:] == (None, None, None)
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('UPDATE "cases_case"')
    ]
    assert len(writes) == 1
