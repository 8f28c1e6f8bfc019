"""/api/v1/users/: the same people, invitations and refusals as the users pages, through
accounts.services.users; 400 naming the field with the pages' sentences."""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client

from accounts.models import Membership, Role, User
from tests.factories import PASSWORD, make_user


def test_it_lists_people_with_role_status_and_teams(personas, api_client):
    api_client.force_authenticate(personas.adam)
    body = api_client.get("/api/v1/users/?role=manager").json()
    assert body["count"] == 1
    mia = body["results"][0]
    assert {k: mia[k] for k in ("username", "email", "role", "is_active", "status", "teams")} == {
        "username": "mia", "email": "mia@example.com", "role": "manager", "is_active": True, "status": "active",
        "teams": [{"id": personas.north.pk, "name": "North"}],
    }
    assert "password" not in mia


def test_an_invitation_through_the_api_sends_a_working_link(personas, api_client):
    api_client.force_authenticate(personas.adam)
    response = api_client.post("/api/v1/users/", {"email": "ravi@example.com", "role": "agent",
                                                  "teams": [personas.north.pk, personas.south.pk]}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["username"], body["status"], body["invitation_sent"], body["invitation_error"]) == \
        ("ravi@example.com", "invited", True, "")
    ravi = User.objects.get(pk=body["id"])
    assert sorted(Membership.objects.filter(user=ravi).values_list("team__name", "is_manager")) == \
        [("North", False), ("South", False)]
    path = re.search(r"https?://[^/\s]+(/invitation/\S+)", mail.outbox[0].body).group(1)
    client = Client()
    form_url = client.get(path)["Location"]
    client.post(form_url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert client.post("/login/", {"username": "ravi@example.com", "password": PASSWORD}).status_code == 302


def test_invalid_invitations_are_400_naming_the_field(personas, api_client):
    api_client.force_authenticate(personas.adam)
    cases = [
        ({"email": "alice@example.com"}, {"email": ["A user with the e-mail address alice@example.com already exists."]}),
        ({"email": "zoe@example.com", "username": "bob"}, {"username": ["The user name bob is taken."]}),
        ({"email": "nope"}, {"email": ["“nope” is not an e-mail address such as ana@example.com."]}),
        ({"email": "zoe@example.com", "role": "owner"}, {"role": ["\"owner\" is not a valid choice."]}),
        ({"email": "zoe@example.com", "teams": [999]}, {"teams": ["Invalid pk \"999\" - object does not exist."]}),
    ]
    for data, expected in cases:
        response = api_client.post("/api/v1/users/", data, format="json")
        assert (response.status_code, response.json()) == (400, expected), data
    assert not User.objects.filter(email="zoe@example.com").exists() and mail.outbox == []


def test_patch_changes_a_role_and_deactivates(personas, api_client):
    api_client.force_authenticate(personas.adam)
    response = api_client.patch(f"/api/v1/users/{personas.alice.pk}/", {"role": "manager"}, format="json")
    assert (response.status_code, response.json()["role"]) == (200, "manager")
    response = api_client.patch(f"/api/v1/users/{personas.alice.pk}/", {"is_active": False}, format="json")
    assert (response.status_code, response.json()["status"]) == (200, "deactivated")
    personas.alice.refresh_from_db()
    assert (personas.alice.role, personas.alice.is_active) == (Role.MANAGER, False)


def test_refusals_are_the_same_sentences_as_on_the_pages(personas, api_client):
    make_user("ada", role=Role.ADMIN)
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    api_client.force_authenticate(personas.adam)
    cases = [
        (personas.adam.pk, {"is_active": False}, {"is_active": ["You cannot deactivate your own account: ask another CX admin."]}),
        (personas.adam.pk, {"role": "agent"}, {"role": ["You cannot remove your own CX admin role: ask another CX admin."]}),
        (root.pk, {"is_active": False}, {"detail": ["root is a superuser: only a superuser can change their account."]}),
        (personas.alice.pk, {"role": "owner"}, {"role": ["\"owner\" is not a valid choice."]}),
    ]
    for pk, data, expected in cases:
        response = api_client.patch(f"/api/v1/users/{pk}/", data, format="json")
        assert (response.status_code, response.json()) == (400, expected), data
    personas.adam.refresh_from_db()
    root.refresh_from_db()
    assert personas.adam.is_active and personas.adam.role == Role.ADMIN and root.is_active


def test_resend_invitation(personas, api_client):
    api_client.force_authenticate(personas.adam)
    created = api_client.post("/api/v1/users/", {"email": "ravi@example.com"}, format="json").json()
    response = api_client.post(f"/api/v1/users/{created['id']}/resend-invitation/")
    assert (response.status_code, response.json()["invitation_sent"]) == (200, True)
    assert len(mail.outbox) == 2
    refused = api_client.post(f"/api/v1/users/{personas.alice.pk}/resend-invitation/")
    assert (refused.status_code, refused.json()) == (400, {"detail": [
        "alice has already set a password: they can use “Forgot your password?” on the sign-in page."]})


def test_put_and_delete_are_not_offered(personas, api_client):
    api_client.force_authenticate(personas.adam)
    assert api_client.put(f"/api/v1/users/{personas.alice.pk}/", {"role": "agent"}, format="json").status_code == 405
    assert api_client.delete(f"/api/v1/users/{personas.alice.pk}/").status_code == 405
    assert User.objects.filter(pk=personas.alice.pk).exists()
