"""/api/v1/customers/ and /api/v1/accounts/: content, filters, team scoping, the schema."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from customers.services import contact_set
from tests.factories import AccountFactory, IdentityFactory, api_key_for
from tests.inbox.helpers import make_case, make_customer, make_response

pytestmark = pytest.mark.django_db


def _as(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return api_client


@pytest.fixture
def world(personas):
    ann = make_customer("Ann Lee", email="ann@example.com", external_id="C-1", phone="+44 7700 900123")
    make_response(customer=ann, team=personas.north, nps=9, answered_at=timezone.now() - dt.timedelta(days=3))
    IdentityFactory(customer=ann, kind="phone", value="+447700900123")
    IdentityFactory(customer=ann, kind="email", value="ann@work.example")
    bo = make_customer("Bo Lane", email="bo@example.com", external_id="C-2")
    make_case(personas.south, customer=bo)
    account = AccountFactory(name="Northwind", owner=personas.mia)
    contact_set(account_id=account.pk, customer_id=ann.pk, role="decision_maker")
    south_only = AccountFactory(name="Southwind")
    contact_set(account_id=south_only.pk, customer_id=bo.pk, role="user")
    return ann, bo, account, south_only


def test_customers_are_listed_and_filtered_by_any_identity(api_client, personas, world):
    ann, bo, *_ = world
    client = _as(api_client, personas.alice)
    assert [c["name"] for c in client.get("/api/v1/customers/").json()["results"]] == ["Ann Lee"]
    assert [c["name"] for c in _as(api_client, personas.charlie).get("/api/v1/customers/").json()["results"]] == [
        "Bo Lane"]
    client = _as(api_client, personas.adam)
    for query, expected in [("phone=0044 7700 900123", ["Ann Lee"]), ("email=ANN@work.example", ["Ann Lee"]),
                            ("external_id=C-2", ["Bo Lane"]), ("q=lane", ["Bo Lane"]), ("phone=not a phone", []),
                            (f"account={world[2].pk}", ["Ann Lee"])]:
        assert [c["name"] for c in client.get(f"/api/v1/customers/?{query}").json()["results"]] == expected, query
    listed = client.get("/api/v1/customers/?external_id=C-1").json()["results"][0]
    assert listed["identities"] == [
        {"kind": "email", "value": "ann@work.example", "source": None, "created_at": listed["identities"][0]["created_at"]},
        {"kind": "phone", "value": "+447700900123", "source": None, "created_at": listed["identities"][1]["created_at"]},
    ]


def test_the_customer_detail_is_the_page_as_json_and_404_out_of_scope(api_client, personas, world):
    ann, bo, *_ = world
    body = _as(api_client, personas.alice).get(f"/api/v1/customers/{ann.pk}/").json()
    assert body["customer"]["name"] == "Ann Lee"
    assert (body["responses_total"], body["cases_total"], body["channels"]) == (1, 0, [])
    assert body["accounts"] == [{"account": world[2].pk, "name": "Northwind", "role": "decision_maker"}]
    assert [(e["kind"], e["text"]) for e in body["timeline"]] == [("response", "Answered Store visit")]
    assert [t["metric"] for t in body["trends"]] == ["nps"] and body["trends"][0]["points"][0]["value"] == 100.0
    assert _as(api_client, personas.alice).get(f"/api/v1/customers/{bo.pk}/").status_code == 404
    assert _as(api_client, personas.alice).get("/api/v1/customers/abc/").status_code == 404
    assert _as(api_client, personas.alice).post(f"/api/v1/customers/{bo.pk}/consent/",
                                                {"channel": "sms", "consent": "refused"}, format="json").status_code == 404


def test_accounts_are_scoped_like_their_contacts(api_client, personas, world):
    ann, bo, northwind, southwind = world
    alice = _as(api_client, personas.alice)
    assert [a["name"] for a in alice.get("/api/v1/accounts/").json()["results"]] == ["Northwind"]
    assert alice.get(f"/api/v1/accounts/{southwind.pk}/").status_code == 404
    detail = alice.get(f"/api/v1/accounts/{northwind.pk}/").json()
    assert (detail["account"]["owner"], detail["nps"], detail["weighted_nps"], detail["respondents"]) == (
        "mia", 100.0, 100.0, 1)
    assert detail["coverage"] == [{"role": "decision_maker", "contacts": 1, "answered": 1}]
    assert detail["days_since_last_answer"] == 3
    assert [c["name"] for c in detail["contacts"]] == ["Ann Lee"]
    charlie = _as(api_client, personas.charlie)
    assert [a["name"] for a in charlie.get("/api/v1/accounts/").json()["results"]] == ["Southwind"]
    assert [a["name"] for a in _as(api_client, personas.adam).get("/api/v1/accounts/?q=north").json()["results"]] == [
        "Northwind"]


def test_the_endpoints_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/").content.decode()
    for path in ("/api/v1/customers/", "/api/v1/customers/{id}/", "/api/v1/customers/{id}/consent/",
                 "/api/v1/accounts/", "/api/v1/accounts/{id}/"):
        assert f"  {path}:" in schema, path
    assert "CustomerDetail" in schema and "AccountDetail" in schema and "weighted_nps" in schema
