"""The one access policy (accounts.permissions), asked of every area that needs a role.

alice is an agent, mia a manager, adam a CX admin. An area a user's role does not open is a 404,
on pages and in the API alike; anonymous users go to the login page (pages) or get 401 (API);
something a user may read but not change is a 403 that says who may."""

from __future__ import annotations

import pytest
from django.test import Client

from surveys.models import Theme

ADMIN_PAGES = ["/surveys/deliveries/", "/surveys/themes/", "/alerts/"]
MANAGER_PAGES = ["/reports/overdue/"]
ADMIN_API = ["/api/v1/alert-rules/"]
MANAGER_API = ["/api/v1/reports/"]

# Who gets what, written out: (path, persona) -> status code.
EXPECTED = {
    **{(path, "alice"): 404 for path in ADMIN_PAGES + MANAGER_PAGES + ADMIN_API + MANAGER_API},
    **{(path, "mia"): 404 for path in ADMIN_PAGES + ADMIN_API},
    **{(path, "mia"): 200 for path in MANAGER_PAGES + MANAGER_API},
    **{(path, "adam"): 200 for path in ADMIN_PAGES + MANAGER_PAGES + ADMIN_API + MANAGER_API},
}


@pytest.mark.parametrize("path, who", sorted(EXPECTED), ids=lambda value: str(value))
def test_each_area_answers_each_role_as_the_policy_says(personas, path, who):
    client = Client()
    client.force_login(getattr(personas, who))
    assert client.get(path).status_code == EXPECTED[(path, who)]


@pytest.mark.parametrize("path", ADMIN_PAGES + MANAGER_PAGES)
def test_anonymous_visitors_of_a_page_are_sent_to_sign_in(db, path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("path", ADMIN_API + MANAGER_API)
def test_anonymous_api_callers_get_401(db, api_client, path):
    assert api_client.get(path).status_code == 401


def test_an_agent_reads_themes_but_a_change_is_403_naming_who_may(personas, api_client):
    Theme.objects.create(name="Delivery", slug="delivery", keywords=["late"], status=Theme.Status.ACTIVE)
    api_client.force_authenticate(personas.alice)
    listed = api_client.get("/api/v1/themes/")
    assert listed.status_code == 200
    assert [t["slug"] for t in listed.json()["results"]] == ["delivery"]
    refused = api_client.post("/api/v1/themes/", {"name": "Billing", "keywords": ["invoice"]}, format="json")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Only CX admins may change this."}
    assert not Theme.objects.filter(name="Billing").exists()
