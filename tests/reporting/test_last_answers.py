"""Each customer's latest answer (reporting.CustomerLastAnswer, kept by reporting.last_answers'
triggers; PostgreSQL): after any write to the responses (new answers, late ones, redated, moved to
another customer, deleted, erased, merged, truncated) and to the customers' segments, the table is
what a direct computation over the responses gives, and its counts per local day and segment bits
(reporting.LastAnswerDay) what the table gives; folded and rebuilt from scratch, the same."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Max, Sum
from django.utils import timezone

from customers.services.merging import customer_merge
from privacy.services import customer_erase
from reporting import last_answers
from reporting.models import CustomerLastAnswer, LastAnswerDay
from segments.models import Segment
from segments.services import segment_save
from surveys.models import Customer, SurveyResponse
from tests.reporting import builders as b
from tests.reporting.test_score_rollup import START

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="the latest answers: PostgreSQL")]


def direct() -> dict[int, tuple[dt.datetime, int]]:
    """Per customer with an answer: the newest answer's time and the customer's segment bits."""
    latest = dict(SurveyResponse.objects.exclude(customer=None).order_by().values("customer_id")
                  .annotate(at=Max("answered_at")).values_list("customer_id", "at"))
    bits = dict(Customer.objects.filter(pk__in=latest).values_list("pk", "segment_bits"))
    return {pk: (at, bits[pk]) for pk, at in latest.items()}


def stored() -> dict[int, tuple[dt.datetime, int]]:
    return {row.customer_id: (row.answered_at, row.segment_bits) for row in CustomerLastAnswer.objects.all()}


def days_direct() -> dict[tuple, int]:
    """The latest answers counted per local day and segment bits, from the rows."""
    counted: dict[tuple, int] = {}
    for when, bits in CustomerLastAnswer.objects.values_list("answered_at", "segment_bits"):
        key = (timezone.localtime(when).date(), bits)
        counted[key] = counted.get(key, 0) + 1
    return counted


def days_stored() -> dict[tuple, int]:
    """The day counts as a reader sums them (fresh deltas and folded rows)."""
    rows = LastAnswerDay.objects.values("day", "segment_bits").annotate(n=Sum("customers"))
    return {(r["day"], r["segment_bits"]): r["n"] for r in rows if r["n"]}


def at(days: int, hours: int = 0) -> dt.datetime:
    return START + dt.timedelta(days=days, hours=hours)


@pytest.fixture
def customers(personas):
    """Three customers with answers on several days (one of them twice on its newest day), one
    without any."""
    people = [b.customer(name) for name in ("Ann", "Bob", "Cy", "Dee")]
    for who, days in ((people[0], (1, 5, 9)), (people[1], (2, 9, 9)), (people[2], (3,))):
        for day in days:
            b.response(personas.north, at=at(day), nps=9, who=who)
    b.response(personas.south, at=at(4), nps=3)  # an answer without a customer: no row
    return people


def test_every_customer_with_an_answer_has_their_newest(customers):
    ann, bob, cy, dee = customers
    assert stored() == direct()
    assert {pk: when for pk, (when, _bits) in stored().items()} == {ann.pk: at(9), bob.pk: at(9), cy.pk: at(3)}


def test_it_stays_exact_through_every_write(personas, customers):
    ann, bob, cy, dee = customers
    b.response(personas.south, at=at(12), nps=1, who=cy)  # a newer answer moves Cy forward
    b.response(personas.north, at=at(0), nps=10, who=ann)  # a late one, older than Ann's newest: no change
    assert stored()[ann.pk][0] == at(9) and stored()[cy.pk][0] == at(12)
    newest_of_ann = SurveyResponse.objects.get(customer=ann, answered_at=at(9))
    SurveyResponse.objects.filter(pk=newest_of_ann.pk).update(answered_at=at(4))  # redated back: Ann's 5th day
    assert stored()[ann.pk][0] == at(5)
    SurveyResponse.objects.filter(customer=cy, answered_at=at(12)).update(customer=dee)  # moved to Dee
    assert stored()[cy.pk][0] == at(3) and stored()[dee.pk][0] == at(12)
    SurveyResponse.objects.filter(customer=bob).update(nps=0, comment="Rescored")  # nothing kept here changes
    SurveyResponse.objects.filter(customer=cy).delete()  # Cy's only answer left: no row
    assert cy.pk not in stored()
    SurveyResponse.objects.filter(customer=bob, answered_at=at(9)).first().delete()  # one of two on the day
    assert stored()[bob.pk][0] == at(9)
    customer_merge(merged_id=dee.pk, target_id=ann.pk, by=personas.adam)  # Dee's answers become Ann's
    assert dee.pk not in stored() and stored()[ann.pk][0] == at(12)
    customer_erase(customer_id=bob.pk)
    assert stored() == direct()
    assert days_stored() == days_direct() and sum(days_direct().values()) == 2
    with transaction.atomic(), connection.cursor() as cursor:  # a bulk write in one statement, as an import does
        cursor.execute("UPDATE surveys_surveyresponse SET answered_at = answered_at + interval '1 day'")
    assert stored() == direct()
    assert days_stored() == days_direct()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's deferred checks first: no TRUNCATE waits on them
        cursor.execute("TRUNCATE surveys_surveyresponse CASCADE")
    assert stored() == direct() == {}
    assert days_stored() == {}


def test_the_rows_carry_their_customers_segment_bits(customers, django_capture_on_commit_callbacks):
    ann, bob, cy, dee = customers
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        segment_save(Segment(name="Gold", conditions=[{"field": "tier", "operator": "equals", "value": "gold"}]))
    Customer.objects.filter(pk__in=[ann.pk, cy.pk]).update(tier="Gold")
    assert {pk: bits for pk, (_at, bits) in stored().items()} == {ann.pk: 1, bob.pk: 0, cy.pk: 1}
    assert days_stored() == days_direct() == {(at(9).date(), 1): 1, (at(9).date(), 0): 1, (at(3).date(), 1): 1}
    Customer.objects.filter(pk=ann.pk).update(tier="silver")
    assert stored() == direct()
    assert stored()[ann.pk][1] == 0
    assert days_stored() == days_direct() == {(at(9).date(), 0): 2, (at(3).date(), 1): 1}


def test_folding_and_rebuilding_the_day_counts(customers):
    expected = days_direct()
    assert expected == {(at(9).date(), 0): 2, (at(3).date(), 0): 1}
    # A delta per customer's first answer, two per answer that moved a customer's latest to a later
    # day (one off the old day, one on the new): Ann 1 + 2 + 2, Bob 1 + 2 (+ 0 the same day), Cy 1.
    assert last_answers.DAYS.compact() == 9
    assert not LastAnswerDay.objects.filter(fresh=True).exists()
    assert LastAnswerDay.objects.count() == 2 and days_stored() == expected
    LastAnswerDay.objects.all().delete()
    assert last_answers.DAYS.rebuild() == 2
    assert days_stored() == expected


def test_rebuilding_gives_the_same_rows(customers):
    expected = direct()
    CustomerLastAnswer.objects.all().delete()  # lost, or never built (answers loaded with the triggers off)
    assert last_answers.rebuild() == len(expected) == 3
    assert stored() == expected
    assert last_answers.rebuild() == 3  # idempotent
    CustomerLastAnswer.objects.all().delete()
    out = StringIO()
    call_command("rollups", "--rebuild", stdout=out)
    assert "Rebuilt the customers' latest answers: 3 rows" in out.getvalue()
    assert "Rebuilt the latest answers' day rollup" in out.getvalue()
    assert stored() == expected
    assert days_stored() == days_direct()
