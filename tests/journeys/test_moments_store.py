"""The journey map's stored moments of truth (reporting.MomentsOfTruth): what a page shows before,
while and after a worker computes them, that the stored figures are a direct computation's, the
scope, and the beat's refresh. Celery runs eagerly in the tests: a queued computation is done by
the time the page reads the row again; "a worker is on it" is a row marked requested."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from journeys import services
from journeys.selectors import stage_map
from reporting.filters import ReportFilterForm
from reporting.models import MomentsOfTruth
from reporting.selectors import moments
from tests.journeys.conftest import journey_with_stages
from tests.reporting import builders as b

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def answered(personas):
    """40 North customers, each with a relationship NPS (i // 4) and a Checkout answer (Buy) that
    rises with it (i // 4), and a Delivery CSAT (Receive) that does not (1 + i % 5); 10 South
    customers with the same two answers."""
    journey, stages, _ = journey_with_stages()
    relationship = b.survey("Relationship")
    services.journey_update(journey=journey, name=journey.name, relationship_survey=relationship)
    at = timezone.now() - dt.timedelta(days=5)
    shop = b.survey("Shop")
    for i in range(40):
        who = b.customer(f"N{i}")
        b.response(personas.north, at=at, nps=i // 4, touchpoint="Relationship email", who=who, on_survey=relationship)
        b.response(personas.north, at=at, nps=i // 4, touchpoint="Checkout", who=who, on_survey=shop)
        b.response(personas.north, at=at, csat=1 + i % 5, touchpoint="Delivery", who=who, on_survey=shop)
    for i in range(10):
        who = b.customer(f"S{i}")
        b.response(personas.south, at=at, nps=i, touchpoint="Relationship email", who=who, on_survey=relationship)
        b.response(personas.south, at=at, nps=i, touchpoint="Checkout", who=who, on_survey=shop)
    personas.journey, personas.stages = journey, stages
    return personas


def moments_rows(user) -> list[tuple]:
    table = client_for(user).get("/reports/journey/").context["moments"]
    return [(r["stage"], r["customers"], r["rho"], r["verdict"]) for r in table.rows]


def page_filters(user):
    form = ReportFilterForm({}, user=user, journey=True)
    assert form.is_valid()
    return form.filters()


def test_the_first_view_stores_the_table_a_direct_computation_gives(answered):
    assert moments_rows(answered.mia) == [
        ("Buy", 40, Decimal("1.00"), "yes"),
        ("Receive", 40, Decimal("0.12"), "no"),
        ("Get help", 0, None, "not enough data"),
    ]
    row = MomentsOfTruth.objects.get()
    assert row.spec["period"] == "default"  # moves with the days
    assert row.spec["teams"] == [answered.north.pk]
    buy, receive, get_help = answered.stages
    direct = moments.estimates(page_filters(answered.mia), stage_map(answered.journey))
    assert row.estimates == {str(k): [e.customers, e.rho, e.low, e.high, e.sampled] for k, e in direct.items()}
    assert row.estimates[str(buy.pk)] == [40, 1.0, 1.0, 1.0, 40]
    assert row.estimates[str(get_help.pk)] == [0, None, None, None, 0]


def test_a_managers_table_uses_only_their_teams_answers(answered):
    assert moments_rows(answered.mia)[0][:2] == ("Buy", 40)
    assert moments_rows(answered.adam)[0][:2] == ("Buy", 50)  # every team: South's 10 customers too
    assert sorted((r.spec["teams"] or []) for r in MomentsOfTruth.objects.all()) == [[], [answered.north.pk]]


def test_new_answers_wait_for_the_refresh_and_a_mapping_change_is_seen_at_once(answered):
    assert moments_rows(answered.mia)[0][:2] == ("Buy", 40)
    who = b.customer("Late")
    at = timezone.now() - dt.timedelta(days=2)
    b.response(answered.north, at=at, nps=9, touchpoint="Relationship email", who=who, on_survey=b.survey("Relationship"))
    b.response(answered.north, at=at, nps=9, touchpoint="Checkout", who=who, on_survey=b.survey("Shop"))
    assert moments_rows(answered.mia)[0][:2] == ("Buy", 40)  # stored an hour at most
    buy, receive, get_help = answered.stages
    services.mapping_set(stage=get_help, touchpoint="Checkout")
    assert moments_rows(answered.mia)[0][:2] == ("Get help", 41)


def test_while_a_worker_computes_the_page_says_so_and_shows_no_other_mappings_figures(answered):
    client = client_for(answered.mia)
    client.get("/reports/journey/")
    buy, receive, get_help = answered.stages
    services.mapping_set(stage=get_help, touchpoint="Checkout")
    MomentsOfTruth.objects.update(requested_at=timezone.now())  # a worker is on it
    table = client.get("/reports/journey/").context["moments"]
    assert table.rows == []
    assert table.description.endswith("Being computed for this journey and these filters: reload the page in a minute.")
    api = client.get("/api/v1/reports/journey-moments-of-truth/").json()
    assert api["rows"] == []


def test_a_fresh_installation_computes_on_the_first_view_and_says_when(answered):
    """With a worker (here eager Celery) the first view queues the table and finds it stored."""
    assert MomentsOfTruth.objects.count() == 0
    table = client_for(answered.mia).get("/reports/journey/").context["moments"]
    assert "Computed at " in table.description
    assert MomentsOfTruth.objects.get().requested_at is None  # done


def test_the_beat_refreshes_old_tables_and_forgets_unread_ones(answered):
    moments_rows(answered.mia)
    moments_rows(answered.adam)
    now = timezone.now()
    mia_row = MomentsOfTruth.objects.get(spec__teams=[answered.north.pk])
    MomentsOfTruth.objects.filter(pk=mia_row.pk).update(computed_at=now - dt.timedelta(hours=2))
    MomentsOfTruth.objects.exclude(pk=mia_row.pk).update(viewed_at=now - dt.timedelta(days=8))
    who = b.customer("Late")
    at = now - dt.timedelta(days=2)
    b.response(answered.north, at=at, nps=9, touchpoint="Relationship email", who=who, on_survey=b.survey("Relationship"))
    b.response(answered.north, at=at, nps=9, touchpoint="Checkout", who=who, on_survey=b.survey("Shop"))
    assert moments.refresh_due() == {"queued": 1, "forgotten": 1}
    buy, receive, get_help = answered.stages
    assert MomentsOfTruth.objects.get().estimates[str(buy.pk)][0] == 41
    assert moments.refresh_due() == {"queued": 0, "forgotten": 0}  # nothing due now


def test_a_deleted_journey_drops_its_tables(answered):
    moments_rows(answered.mia)
    answered.journey.delete()
    assert moments.refresh_due() == {"queued": 0, "forgotten": 1}
    assert MomentsOfTruth.objects.count() == 0
