"""Password reset by e-mail with Django's own views: the same answer whether or not the address
is known, a link that works once, a rate limit that reveals nothing, and a reset that lifts a
sign-in lockout on the user name (what the lockout page tells people to do)."""

from __future__ import annotations

import re

from django.conf import settings
from django.core import mail
from django.test import Client

from tests.factories import PASSWORD

NEW_PASSWORD = "quiet harbour ninety kites"


def _ask(email: str, ip: str = "10.5.0.1"):
    return Client(REMOTE_ADDR=ip).post("/password-reset/", {"email": email})


def _link_path(message) -> str:
    urls = re.findall(r"https?://[^\s\"<]+/password-reset/[^\s\"<]+", message.body)
    assert len(urls) == 1, message.body
    assert urls[0].startswith(settings.SITE_URL + "/"), "built from SITE_URL, not the Host header"
    assert urls[0] in message.alternatives[0][0]
    return urls[0][len(settings.SITE_URL):]


def _set_password(path: str, password: str = NEW_PASSWORD):
    client = Client()
    form_url = client.get(path)["Location"]
    return client.post(form_url, {"new_password1": password, "new_password2": password})


def test_the_login_page_links_to_password_reset(db):
    html = Client().get("/login/").content.decode()
    assert '<a href="/password-reset/">Forgot your password?</a>' in html


def test_the_full_reset_flow_through_the_emails_link(personas):
    response = _ask("ALICE@example.com")
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert message.subject == "Reset your Closeloop password"
    assert "asked to reset the Closeloop password for the user name alice." in message.body
    path = _link_path(message)

    done = _set_password(path)
    assert done.status_code == 302 and done["Location"] == "/password-reset/done/"
    personas.alice.refresh_from_db()
    assert personas.alice.check_password(NEW_PASSWORD)
    assert Client().post("/login/", {"username": "alice", "password": NEW_PASSWORD}).status_code == 302
    assert b"This link does not work" in Client().get(path, follow=True).content, "the link works once"


def test_an_unknown_address_gets_the_same_answer_and_no_mail(personas):
    known, unknown = _ask("alice@example.com", ip="10.5.0.2"), _ask("nobody@example.com", ip="10.5.0.3")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    page = Client().get(unknown["Location"]).content.decode()
    assert "If an account uses that address, an e-mail with a link to choose a new password is on its way." in page


def test_deactivated_users_get_no_reset_mail(personas):
    personas.bob.is_active = False
    personas.bob.save()
    response = _ask("bob@example.com")
    assert (response.status_code, response["Location"]) == (302, "/password-reset/sent/")
    assert mail.outbox == []


def test_an_invitee_without_a_password_gets_a_fresh_invitation_instead(personas):
    """Their first link may have expired; the answer on the page is the same as for anyone."""
    from accounts.services import user_invite

    user_invite(by=personas.adam, email="ines@example.com", role="agent")
    first = re.search(r"https?://[^/\s]+(/invitation/\S+)", mail.outbox[0].body).group(1)
    response = _ask("ines@example.com")
    assert (response.status_code, response["Location"]) == (302, "/password-reset/sent/")
    assert len(mail.outbox) == 2
    renewed = mail.outbox[1]
    assert renewed.subject == "Your CX team invited you to Closeloop"
    second = re.search(r"https?://[^/\s]+(/invitation/\S+)", renewed.body).group(1)
    assert b"This invitation link does not work" in Client().get(first, follow=True).content
    client = Client()
    form_url = client.get(second)["Location"]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert Client().post("/login/", {"username": "ines@example.com", "password": NEW_PASSWORD}).status_code == 302


def test_a_link_stops_working_when_the_user_is_deactivated(personas):
    _ask("alice@example.com")
    personas.alice.is_active = False
    personas.alice.save()
    assert b"This link does not work" in Client().get(_link_path(mail.outbox[0]), follow=True).content


def test_requests_are_limited_per_address_whether_or_not_it_exists(personas):
    for email in ("alice@example.com", "nobody@example.com"):
        statuses = [_ask(email, ip=f"10.6.0.{i}").status_code for i in range(4)]
        assert statuses == [302, 302, 302, 429]
    assert len(mail.outbox) == 3
    limited = _ask("alice@example.com", ip="10.6.1.1").content.decode()
    assert "Too many password reset requests" in limited


def test_requests_are_limited_per_client_address(personas):
    statuses = [_ask(f"someone{i}@example.com", ip="10.7.0.1").status_code for i in range(11)]
    assert statuses == [302] * 10 + [429]
    assert _ask("alice@example.com", ip="10.7.0.2").status_code == 302


def test_the_lockout_page_says_what_to_do(personas):
    for i in range(settings.AXES_FAILURE_LIMIT):
        response = Client(REMOTE_ADDR="10.8.0.1").post("/login/", {"username": "alice", "password": f"wrong-{i}"})
    assert response.status_code == 429
    html = response.content.decode()
    assert "Try again in 15 minutes." in html
    assert 'Forgotten your password? <a href="/password-reset/">Reset it by e-mail</a>:\n  once you have chosen ' \
           "a new one, you can sign in straight away." in html
    assert "No e-mail arrives, or you are still refused? Ask a CX admin in your organisation." in html


def test_a_reset_lifts_the_lockout_on_the_user_name(personas):
    for i in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR="10.9.0.1").post("/login/", {"username": "alice", "password": f"wrong-{i}"})
    assert Client(REMOTE_ADDR="10.9.0.2").post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 429
    _ask("alice@example.com", ip="10.9.0.3")
    _set_password(_link_path(mail.outbox[0]))
    response = Client(REMOTE_ADDR="10.9.0.2").post("/login/", {"username": "alice", "password": NEW_PASSWORD})
    assert response.status_code == 302
