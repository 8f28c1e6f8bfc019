"""Inviting someone through the users page, all the way through the e-mail's link to their
first sign-in; the link works once, resending replaces it, and a deactivated invitee's link is dead."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client

from accounts.models import Membership, Role, User

NEW_PASSWORD = "plum orchard seventeen lanterns"


def _link_path(message) -> str:
    """The one invitation link in the e-mail's text, as a path (the host is SITE_URL)."""
    urls = re.findall(r"https?://[^\s\"<]+/invitation/[^\s\"<]+", message.body)
    assert len(urls) == 1, message.body
    html = message.alternatives[0][0]
    assert urls[0] in html, "the HTML part carries the same link"
    return re.sub(r"^https?://[^/]+", "", urls[0])


def _admin_client(personas) -> Client:
    client = Client()
    client.force_login(personas.adam)
    return client


def _invite(client, **fields):
    data = {"email": "Nora.Quist@Example.COM", "first_name": "Nora", "last_name": "Quist", "role": "manager"}
    data.update(fields)
    return client.post("/settings/users/invite/", data)


def test_the_full_invitation_flow_through_the_emails_link(personas):
    response = _invite(_admin_client(personas), teams=[personas.south.pk])
    nora = User.objects.get(email="Nora.Quist@example.com")
    assert response.status_code == 302
    assert response["Location"] == f"/settings/users/#user-{nora.pk}"
    assert nora.username == "nora.quist@example.com"
    assert nora.role == Role.MANAGER and nora.is_active and not nora.has_usable_password()
    assert list(Membership.objects.filter(user=nora).values_list("team__name", "is_manager")) == [("South", True)]

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["Nora.Quist@example.com"]
    assert message.subject == "adam invited you to Closeloop"
    assert "adam invited you to Closeloop as a Manager in South." in message.body
    assert "with the user name nora.quist@example.com" in message.body
    path = _link_path(message)

    invitee = Client()
    opened = invitee.get(path)
    assert opened.status_code == 302 and opened["Location"].endswith("/set-password/"), "token moved out of the URL"
    form_page = invitee.get(opened["Location"])
    assert b"Welcome to Closeloop" in form_page.content and b"nora.quist@example.com" in form_page.content
    done = invitee.post(opened["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/invitation/done/"
    nora.refresh_from_db()
    assert nora.check_password(NEW_PASSWORD)

    signed_in = invitee.post("/login/", {"username": "nora.quist@example.com", "password": NEW_PASSWORD})
    assert signed_in.status_code == 302
    assert invitee.session[SESSION_KEY] == str(nora.pk)

    again = Client().get(path, follow=True)
    assert b"This invitation link does not work" in again.content, "the link works once"


def test_a_weak_password_is_refused_on_the_invitation_page(personas):
    _invite(_admin_client(personas))
    invitee = Client()
    set_password = invitee.get(_link_path(mail.outbox[0]))["Location"]
    response = invitee.post(set_password, {"new_password1": "password", "new_password2": "password"})
    assert response.status_code == 200
    assert b"This password is too common." in response.content
    assert not User.objects.get(email="Nora.Quist@example.com").has_usable_password()


def test_resending_replaces_the_earlier_link(personas):
    client = _admin_client(personas)
    _invite(client)
    nora = User.objects.get(email="Nora.Quist@example.com")
    first = _link_path(mail.outbox[0])
    response = client.post(f"/settings/users/{nora.pk}/resend-invitation/", follow=True)
    assert "Sent a new invitation Nora Quist: an e-mail with a link to choose a password went to " \
           "Nora.Quist@example.com." in response.content.decode()
    second = _link_path(mail.outbox[1])
    assert first != second
    assert b"This invitation link does not work" in Client().get(first, follow=True).content
    assert Client().get(second)["Location"].endswith("/set-password/")


def test_a_deactivated_invitees_link_is_dead(personas):
    client = _admin_client(personas)
    _invite(client)
    nora = User.objects.get(email="Nora.Quist@example.com")
    client.post(f"/settings/users/{nora.pk}/deactivate/")
    assert b"This invitation link does not work" in Client().get(_link_path(mail.outbox[0]), follow=True).content


def test_a_password_reset_link_is_not_an_invitation_link(personas):
    """Two salts: the reset link's token does not open the invitation page."""
    _invite(_admin_client(personas))
    path = _link_path(mail.outbox[0])
    reset_path = path.replace("/invitation/", "/password-reset/")
    assert b"This link does not work" in Client().get(reset_path, follow=True).content


@pytest.mark.parametrize("fields, field, message", [
    ({"email": "alice@example.com"}, "email", "A user with the e-mail address alice@example.com already exists."),
    ({"email": "ALICE@example.com"}, "email", "A user with the e-mail address ALICE@example.com already exists."),
    ({"username": "bob"}, "username", "The user name bob is taken."),
    ({"username": "no spaces"}, "username", "A user name may contain only letters, digits and @ . + - _"),
    ({"email": "not-an-address"}, "email", "Enter a valid email address."),
    ({"role": "owner"}, "role", "Select a valid choice. owner is not one of the available choices."),
])
def test_invalid_invitations_are_refused_beside_the_field(personas, fields, field, message):
    before = User.objects.count()
    response = _invite(_admin_client(personas), **fields)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Nobody was invited: fix the fields marked below." in html
    error = html.split(f'id="id_{field}-error"', 1)[1].split("</p>", 1)[0]
    assert message in error.replace("&#x27;", "'")
    assert User.objects.count() == before and mail.outbox == []


def test_a_mail_failure_keeps_the_user_and_says_so(personas, settings):
    settings.EMAIL_BACKEND = "tests.accounts.failing_mail.Backend"
    response = _invite(_admin_client(personas), first_name="", last_name="").client.get("/settings/users/")
    html = response.content.decode()
    assert "nora.quist@example.com is added, but the invitation e-mail to Nora.Quist@example.com could not be " \
           "sent (ConnectionRefusedError: [Errno 111] Connection refused). Use “Resend invitation” once mail " \
           "works." in html
    assert User.objects.filter(email="Nora.Quist@example.com").exists()
