"""The demo's customers and accounts (demo/customers.py) are what docs/customers.md says they are:
Robin merged from the web shop's account and found by any way of writing her phone, a pair left
for review, consent per channel, and Northwind's figures."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from customers.models import CustomerMerge
from customers.selectors import suspected_duplicates
from tests.factories import api_key_for


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_has_what_the_customers_page_documents(settings, api_client):
    from accounts.models import User

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("load_demo", stdout=io.StringIO())
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(User.objects.get(username='admin'))}")
    found = api_client.get("/api/v1/customers/?phone=0044 7700 900923").json()
    assert found["count"] == 1
    robin = found["results"][0]
    assert (robin["external_id"], robin["name"], robin["phone"], robin["merged_into"]) == (
        "crm-1001", "Robin Ashdown", "+44 7700 900923", None)
    assert [(i["kind"], i["value"], i["source"]) for i in robin["identities"]] == [
        ("email", "robin.a@example.net", None), ("email", "robin.ashdown@example.com", None),
        ("external_id", "crm-1001", "demo-standard"), ("external_id", "shop-77", "demo-standard"),
        ("phone", "+447700900923", None)]
    detail = api_client.get(f"/api/v1/customers/{robin['id']}/").json()
    assert (detail["channels"], detail["responses_total"]) == (["email", "phone"], 3)
    assert detail["accounts"] == [{"account": detail["accounts"][0]["account"], "name": "Northwind Stores",
                                   "role": "decision_maker"}]
    assert [t["metric"] for t in detail["trends"]] == ["nps"]
    assert CustomerMerge.objects.get().merged.external_id == "shop-77"
    suspects = [(s.kind, s.value, sorted(c.external_id for c in s.customers)) for s in suspected_duplicates()]
    assert ("email", "sam.okafor@example.com", ["crm-1002", "shop-78"]) in suspects
    priya = api_client.get("/api/v1/customers/?email=priya.shah@example.com").json()["results"][0]
    assert priya["contact_consent"] == {"email": "refused", "phone": "granted"}
    top = api_client.get("/api/v1/accounts/?top_level=true").json()["results"]
    assert [(a["name"], a["owner"]) for a in top] == [("Acme Logistics", "manager"), ("Northwind Group", "manager")]
    group = api_client.get("/api/v1/accounts/?q=acct-northwind&top_level=true").json()["results"][0]
    figures = api_client.get(f"/api/v1/accounts/{group['id']}/").json()
    assert [c["name"] for c in figures["children"]] == ["Northwind Online", "Northwind Stores"]
    assert (figures["respondents"], figures["nps"], figures["weighted_nps"], figures["days_since_last_answer"],
            figures["contacts_total"]) == (5, 0.0, 10.0, 10, 5)
    assert figures["coverage"] == [{"role": "decision_maker", "contacts": 2, "answered": 2},
                                   {"role": "influencer", "contacts": 1, "answered": 1},
                                   {"role": "user", "contacts": 2, "answered": 2}]
