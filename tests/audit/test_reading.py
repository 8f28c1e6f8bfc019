"""Reading the audit trail: the page (/settings/audit/, linked from the settings navigation), its
CSV export and /api/v1/audit/ are for CX admins only (others: 404, as every admin area answers;
no credentials: the login page or 401), filter by actor, object type, action and dates, page,
and are in the OpenAPI schema."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from audit.services import AuditEvent, AuditTarget, audit_record
from surveys.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def changes(personas, api_client):
    """Two API changes by adam: an SLA policy (named like a spreadsheet formula) and a routing rule."""
    api_client.force_authenticate(personas.adam)
    assert api_client.post("/api/v1/sla-policies/", {"name": "=HYPERLINK(\"http://evil.example\")",
                                                      "first_contact_hours": "2", "resolution_hours": "8"},
                           format="json").status_code == 201
    assert api_client.post("/api/v1/routing-rules/", {"name": "Stores", "team": personas.south.pk,
                                                       "touchpoints": ["store"]}, format="json").status_code == 201
    return personas


@pytest.mark.parametrize("who", ["alice", "mia"])
def test_only_cx_admins_read_it(client, api_client, personas, who):
    user = getattr(personas, who)
    client.force_login(user)
    assert client.get("/settings/audit/").status_code == 404
    assert client.get("/settings/audit/export/").status_code == 404
    api_client.force_authenticate(user)
    assert api_client.get("/api/v1/audit/").status_code == 404


def test_anonymous_callers_go_to_sign_in_or_get_401(client, api_client, db):
    assert client.get("/settings/audit/")["Location"].startswith("/login/")
    assert api_client.get("/api/v1/audit/").status_code == 401


def test_the_settings_navigation_links_it(client, personas):
    client.force_login(personas.adam)
    for page in ("/settings/", "/settings/teams/"):
        assert 'href="/settings/audit/"' in client.get(page).content.decode()


def test_the_page_lists_and_filters_the_entries(client, changes):
    client.force_login(changes.adam)
    page = client.get("/settings/audit/", {"actor": "adam", "object_type": "cases.routingrule",
                                           "action": "create"}).content.decode()
    assert "1 entry" in page and "Stores" in page and "touchpoints: (none) → [&quot;store&quot;]" in page
    assert "HYPERLINK" not in page
    everything = client.get("/settings/audit/").content.decode()
    assert "HYPERLINK" in everything and "sign-in" in everything
    refused = client.get("/settings/audit/", {"object_type": "nope", "date_from": "yesterday"})
    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode() and "Enter a valid date" in refused.content.decode()


def test_the_page_is_paginated(client, personas):
    customer = CustomerFactory()
    for n in range(51):
        audit_record(AuditEvent(action=AuditEntry.Action.EXPORT, target=AuditTarget(Customer, customer.pk, f"c{n}")))
    client.force_login(personas.adam)
    first = client.get("/settings/audit/", {"action": "personal_data_export"}).content.decode()
    assert "51 entries" in first and "Page 1 of 2" in first and "?action=personal_data_export&amp;page=2" in first
    second = client.get("/settings/audit/", {"action": "personal_data_export", "page": 2}).content.decode()
    assert "Page 2 of 2" in second and "<br>c0</td>" in second and "<br>c0</td>" not in first


def test_the_api_answers_with_the_entry_as_documented(api_client, changes):
    api_client.force_authenticate(changes.adam)
    body = api_client.get("/api/v1/audit/", {"object_type": "cases.routingrule"}).json()
    assert body["count"] == 1
    entry = AuditEntry.objects.get(content_type__model="routingrule")
    assert body["results"][0] == {
        "id": entry.pk, "timestamp": body["results"][0]["timestamp"], "action": "create",
        "actor_id": changes.adam.pk, "actor": "adam", "actor_email": "adam@example.com", "via": "api",
        "object_type": "cases.routingrule", "object_id": entry.object_pk, "object_repr": "Stores",
        "changes": entry.changes, "details": None, "ip_address": "127.0.0.1", "user_agent": "",
        "request_id": entry.cid,
    }
    assert entry.changes["touchpoints"] == [None, ["store"]] and len(entry.cid) == 32


def test_the_api_filters(api_client, changes):
    api_client.force_authenticate(changes.adam)
    today = timezone.now().date().isoformat()

    def reprs(**params):
        answer = api_client.get("/api/v1/audit/", params)
        assert answer.status_code == 200, answer.json()
        return sorted(e["object_repr"] for e in answer.json()["results"])

    made = ["=HYPERLINK(\"http://evil.example\")", "Stores"]
    assert reprs(actor="ADAM", action="create", date_from=today, date_to=today) == made
    assert reprs(actor_id=changes.adam.pk, action="create") == made
    assert reprs(action="create", date_to="2000-01-01") == []
    assert reprs(action="create", date_from="9999-12-31") == []
    assert reprs(object_type="accounts.slapolicy") == ["=HYPERLINK(\"http://evil.example\")"]
    assert reprs(actor="nobody") == []
    refused = api_client.get("/api/v1/audit/", {"object_type": "accounts.nothing", "action": "erase",
                                                "actor_id": "99999999999999999999", "date_to": "31/12/2026"})
    assert refused.status_code == 400
    assert sorted(refused.json()) == ["action", "actor_id", "date_to", "object_type"]
    assert api_client.post("/api/v1/audit/", {}, format="json").status_code == 405
    entry = AuditEntry.objects.first()
    assert api_client.delete(f"/api/v1/audit/{entry.pk}/").status_code == 405
    assert api_client.get(f"/api/v1/audit/{entry.pk}/").json()["id"] == entry.pk


def test_the_csv_export_has_every_column_and_neutralises_formulas(client, changes):
    client.force_login(changes.adam)
    response = client.get("/settings/audit/export/", {"object_type": "accounts.slapolicy"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="closeloop-audit-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["id", "time_utc", "actor_id", "actor", "actor_email", "via", "action", "object_type",
                       "object_id", "object", "changes", "details", "ip_address", "user_agent", "request_id"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1]))
    assert (row["actor"], row["actor_email"], row["via"], row["action"], row["object_type"], row["ip_address"]) == (
        "adam", "adam@example.com", "api", "create", "accounts.slapolicy", "127.0.0.1")
    assert row["object"] == "'=HYPERLINK(\"http://evil.example\")"
    assert "resolution_hours: (none) → 8.00" in row["changes"]


def test_the_csv_export_refuses_more_rows_than_it_may_hold(client, changes, settings):
    settings.AUDIT_EXPORT_MAX_ROWS = 1
    client.force_login(changes.adam)
    refused = client.get("/settings/audit/export/", {"actor": "adam", "action": "create"})
    assert refused.status_code == 400
    assert refused.content.decode() == ("2 entries match; an export holds at most 1. Narrow the dates or filters "
                                        "and export in parts.")
    assert client.get("/settings/audit/export/", {"object_type": "cases.routingrule"}).status_code == 200


def test_the_api_is_in_the_openapi_schema(client, db):
    schema = client.get("/api/schema/?format=json").json()
    assert "/api/v1/audit/" in schema["paths"] and "/api/v1/audit/{id}/" in schema["paths"]
    parameters = {p["name"] for p in schema["paths"]["/api/v1/audit/"]["get"]["parameters"]}
    assert {"actor", "actor_id", "object_type", "action", "date_from", "date_to", "page"} <= parameters
    assert set(schema["paths"]["/api/v1/audit/"]) == {"get"}
