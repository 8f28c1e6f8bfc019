"""The recording contract (surveys -> alerts -> cases), through the one recording path: a
worker's batch recorded in one transaction (core.unit_of_work), on PostgreSQL and on SQLite
(tests/test_sqlite.py runs this module again on SQLite)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import Membership, Team
from alerts.models import Alert
from alerts.signals import alert_raised
from cases.models import Case, CaseResponse
from surveys.models import SurveyResponse, WebhookDelivery
from surveys.services import deliveries_process, theme_create
from surveys.signals import Recorded, response_recorded
from tests.alerts.helpers import defaults_off, rule
from tests.factories import make_user
from tests.surveys.payloads import closeloop_body, make_source

pytestmark = pytest.mark.django_db


def _stored(source, body, delivery_id):
    return WebhookDelivery.objects.create(source=source, delivery_id=delivery_id, content_type="application/json",
                                          headers={}, body=body).pk


@pytest.fixture
def north():
    team = Team.objects.create(name="North", slug="north", is_default=True, assignment="round_robin")
    for name in ("ann", "ben"):
        Membership.objects.create(user=make_user(name), team=team)
    return team


def test_receivers_get_a_recorded_with_the_theme_ids_and_the_alerts_it_raised(north):
    staff = theme_create(name="Staff attitude", keywords=["rude"])
    theme_create(name="Pricing", keywords=["expensive"])
    defaults_off()
    rule(name="Detractor", case_team=north)
    heard, raised = [], []

    def on_recorded(sender, recorded, **kwargs):
        heard.append(recorded)

    def on_raised(sender, alert, recorded, earlier, **kwargs):
        raised.append((alert.rule.name, recorded.response.external_id, recorded.is_new, len(earlier)))

    response_recorded.connect(on_recorded, dispatch_uid="tests.contract.recorded", weak=False)
    alert_raised.connect(on_raised, dispatch_uid="tests.contract.raised", weak=False)
    try:
        source = make_source("standard")
        pks = [_stored(source, closeloop_body(response_id="r-1", nps=2, comment="The waiter was rude"), "d-1"),
               _stored(source, closeloop_body(response_id="r-2", nps=9, comment="Fine", external_id="C-2",
                                              email="bo@example.com"), "d-2")]
        assert deliveries_process(delivery_pks=pks) == dict.fromkeys(pks, "processed")
    finally:
        response_recorded.disconnect(dispatch_uid="tests.contract.recorded")
        alert_raised.disconnect(dispatch_uid="tests.contract.raised")
    assert [(type(r), r.response.external_id, r.theme_ids, r.is_new) for r in heard] == [
        (Recorded, "r-1", frozenset({staff.pk}), True), (Recorded, "r-2", frozenset(), True)]
    assert raised == [("Detractor", "r-1", True, 0)]
    # What the receivers were told is what the database holds after the commit.
    assert set(SurveyResponse.objects.get(external_id="r-1").theme_links.values_list("theme_id", flat=True)) == {
        staff.pk}
    with pytest.raises(AttributeError):
        heard[0].is_new = False  # frozen: a receiver cannot change what the next one is told


def test_a_batch_with_two_low_scores_from_one_customer_opens_one_case(north):
    defaults_off()
    rule(name="Detractor", case_team=north, repeat_window_days=14)
    rule(name="Very unhappy", threshold=Decimal("3"), case_team=north)  # a second open-case alert for 2
    source = make_source("standard")
    pks = [_stored(source, closeloop_body(response_id=f"r-{i}", nps=nps, comment="Late again"), f"d-{i}")
           for i, nps in enumerate((2, 5))]
    assert deliveries_process(delivery_pks=pks) == dict.fromkeys(pks, "processed")
    case = Case.objects.get()
    assert case.customer.external_id == "C-1" and case.response.external_id == "r-0"
    assert Alert.objects.filter(response__customer=case.customer).count() == 3
    assert sorted(CaseResponse.objects.filter(case=case).values_list("response__external_id", flat=True)) == [
        "r-0", "r-1"]
    assert list(case.events.order_by("id").values_list("kind", flat=True)) == [
        "opened", "assigned", "response_attached"]
    assert case.assignee.username == "ann" and case.reference == f"CL-{case.pk:06d}"


def test_a_delivery_alone_is_a_batch_of_one_with_the_same_outcome(north):
    defaults_off()
    rule(name="Detractor", case_team=north, repeat_window_days=14)
    source = make_source("standard")
    first = _stored(source, closeloop_body(response_id="r-1", nps=2), "d-1")
    second = _stored(source, closeloop_body(response_id="r-2", nps=1), "d-2")
    assert deliveries_process(delivery_pks=[first]) == {first: "processed"}
    assert deliveries_process(delivery_pks=[second]) == {second: "processed"}
    case = Case.objects.get()
    assert sorted(case.case_responses.values_list("response__external_id", flat=True)) == ["r-1", "r-2"]
    assert WebhookDelivery.objects.get(pk=second).response.external_id == "r-2"
