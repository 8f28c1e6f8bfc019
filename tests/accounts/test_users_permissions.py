"""Who reaches the users pages and /api/v1/users/, written out (accounts.permissions): CX admins
only; agents and managers get 404 (the area is not advertised); anonymous visitors go to sign in
(pages) or get 401 (API). Password reset and invitation pages are open to anyone with a link."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role, User

PAGES_GET = ["/settings/users/", "/settings/users/invite/", "/settings/users/{alice}/"]
PAGES_POST = ["/settings/users/{alice}/deactivate/", "/settings/users/{alice}/reactivate/",
              "/settings/users/{alice}/resend-invitation/", "/settings/users/invite/", "/settings/users/{alice}/"]
API = [("get", "/api/v1/users/"), ("get", "/api/v1/users/{alice}/"), ("post", "/api/v1/users/"),
       ("patch", "/api/v1/users/{alice}/"), ("post", "/api/v1/users/{alice}/resend-invitation/")]

EXPECTED_GET = {"alice": 404, "mia": 404, "adam": 200}


@pytest.mark.parametrize("who", sorted(EXPECTED_GET))
def test_pages_answer_each_role(personas, who):
    client = Client()
    client.force_login(getattr(personas, who))
    for path in PAGES_GET:
        assert client.get(path.format(alice=personas.alice.pk)).status_code == EXPECTED_GET[who], path


@pytest.mark.parametrize("who", ["alice", "mia"])
def test_writes_by_non_admins_are_404_and_change_nothing(personas, api_client, who):
    client = Client()
    client.force_login(getattr(personas, who))
    for path in PAGES_POST:
        data = {"role": "admin", "email": "x@example.com"}
        assert client.post(path.format(alice=personas.alice.pk), data).status_code == 404, path
    api_client.force_authenticate(getattr(personas, who))
    for method, path in API:
        response = getattr(api_client, method)(path.format(alice=personas.alice.pk),
                                                {"role": "admin", "is_active": False, "email": "x@example.com"},
                                                format="json")
        assert response.status_code == 404, (method, path)
    alice = User.objects.get(pk=personas.alice.pk)
    assert (alice.role, alice.is_active) == (Role.AGENT, True)
    assert not User.objects.filter(email="x@example.com").exists()


def test_anonymous_visitors(personas, api_client):
    for path in PAGES_GET:
        response = Client().get(path.format(alice=personas.alice.pk))
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), path
    for method, path in API:
        assert getattr(api_client, method)(path.format(alice=personas.alice.pk)).status_code == 401, (method, path)


@pytest.mark.parametrize("path", ["/password-reset/", "/password-reset/sent/", "/password-reset/done/",
                                  "/invitation/done/", "/password-reset/MQ/bad-token/", "/invitation/MQ/bad-token/"])
def test_password_pages_are_open_to_anyone(db, path):
    assert Client().get(path).status_code == 200


def test_a_superuser_without_the_admin_role_is_an_admin_here(personas):
    root = User.objects.create_superuser("root", "root@example.com", "x" * 12, role=Role.AGENT)
    client = Client()
    client.force_login(root)
    assert client.get("/settings/users/").status_code == 200
