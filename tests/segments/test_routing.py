"""Routing rules for named segments: the first rule whose segment holds the customer wins, in
ingest's own routing function, the tester, the settings page and the API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from cases.models import RoutingRule
from cases.routing import matching_rule, route_team_id, rules_changed
from organisation.services import routing_rule_save
from segments.models import Segment
from segments.services import segment_save
from tests.factories import (
    AccountFactory, ContactFactory, CustomerFactory, SurveyFactory, SurveyResponseFactory, WebhookSourceFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_accounts(db):
    with transaction.atomic():
        return segment_save(Segment(name="Key accounts", conditions=[
            {"field": "account.value", "operator": "gte", "value": 100000}]))


def _response(customer=None):
    source = WebhookSourceFactory(slug="routing-test", name="Test", vendor="standard")
    survey = SurveyFactory(source=source, external_id="s", name="S")
    return SurveyResponseFactory.build(source=source, survey=survey, customer=customer, nps=3, team=None)


def test_a_segment_routing_rule_sends_its_customers_to_the_team(personas, key_accounts):
    routing_rule_save(RoutingRule(name="Key accounts to South", order=10, team=personas.south), segments=[key_accounts])
    rules_changed()
    big = CustomerFactory()
    ContactFactory(customer=big, account=AccountFactory(value=Decimal("120000")))
    small = CustomerFactory()
    ContactFactory(customer=small, account=AccountFactory(value=Decimal("5000")))
    assert route_team_id(_response(big)) == personas.south.pk
    assert route_team_id(_response(small)) == personas.north.pk  # the default team
    assert route_team_id(_response(None)) == personas.north.pk
    assert matching_rule(_response(big)).name == "Key accounts to South"


def test_the_tester_and_the_api_take_a_customer(client, api_client, personas, key_accounts):
    routing_rule_save(RoutingRule(name="Key accounts to South", order=10, team=personas.south), segments=[key_accounts])
    big = CustomerFactory(email="buyer@big.example")
    ContactFactory(customer=big, account=AccountFactory(value=Decimal("120000")))
    client.force_login(personas.adam)
    page = client.get("/settings/routing/test/", {"metric": "nps", "customer": "BUYER@big.example"})
    assert "Key accounts to South" in page.content.decode()
    missing = client.get("/settings/routing/test/", {"metric": "nps", "customer": "nobody@example.com"})
    assert "No customer has the e-mail or external id “nobody@example.com”." in missing.content.decode()

    api_client.force_authenticate(personas.adam)
    answer = api_client.post("/api/v1/routing-rules/test/", {"customer": "buyer@big.example"}, format="json")
    assert answer.status_code == 200 and answer.json()["team"]["name"] == "South"


def test_the_settings_page_and_the_api_save_a_rules_segments(client, api_client, personas, key_accounts):
    api_client.force_authenticate(personas.adam)
    created = api_client.post("/api/v1/routing-rules/", {"name": "Key", "order": 5, "team": personas.south.pk,
                                                          "segments": ["key-accounts"]}, format="json")
    assert created.status_code == 201 and created.json()["segments"] == ["key-accounts"]
    assert list(RoutingRule.objects.get(name="Key").segments.all()) == [key_accounts]

    client.force_login(personas.adam)
    saved = client.post("/settings/routing/new/", {"name": "Key 2", "order": "6", "active": "on",
                                                   "team": personas.south.pk, "segments": [key_accounts.pk]})
    assert saved.status_code == 302
    assert list(RoutingRule.objects.get(name="Key 2").segments.all()) == [key_accounts]
    listing = client.get("/settings/routing/").content.decode()
    assert "Segments: Key accounts" in listing


def test_customers_at_high_churn_risk_are_routed_to_their_team(personas):
    """Churn risk (docs/churn-risk.md) read by routing through a segment."""
    with transaction.atomic():
        at_risk = segment_save(Segment(name="At risk", conditions=[
            {"field": "churn_risk", "operator": "gte", "value": 0.5}]))
    routing_rule_save(RoutingRule(name="At risk to South", order=10, team=personas.south), segments=[at_risk])
    rules_changed()
    assert route_team_id(_response(CustomerFactory(churn_risk=0.65))) == personas.south.pk
    assert route_team_id(_response(CustomerFactory(churn_risk=0.1))) == personas.north.pk
    assert route_team_id(_response(CustomerFactory())) == personas.north.pk  # not scored


@pytest.mark.parametrize("field,path,body", [
    ("segments", "/api/v1/routing-rules/", {"name": "Odd", "segments": ["CL-1\x00"]}),
    ("team", "/api/v1/account-rules/", {"name": "Odd", "team": "north\x00"}),
    ("source", "/api/v1/journeys/{journey}/mappings/", {"stage": "{stage}", "source": "web\x00"}),
])
def test_a_slug_with_a_nul_or_other_characters_is_refused_by_name(api_client, personas, field, path, body):
    """PostgreSQL refuses a NUL in text: the lookup must not reach it (a 500 found by the API fuzz)."""
    api_client.force_authenticate(personas.adam)
    if "{journey}" in path:
        journey = api_client.post("/api/v1/journeys/", {"name": "Delivery"}, format="json").json()
        stage = api_client.post(f"/api/v1/journeys/{journey['id']}/stages/", {"name": "Order"}, format="json")
        path, body = path.format(journey=journey["id"]), {**body, "stage": stage.json()["stages"][0]["id"]}
    answer = api_client.post(path, body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert "does not exist" in str(answer.json()[field])
