"""Setting up, backup codes, removal, the per-role policy and an admin's reset, through the pages.
Expectations are read where they live: django-otp's device and token rows, the policy row, the
session."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.two_factor.models import TwoFactorPolicy
from accounts.two_factor.signals import SecondFactorChange, second_factor_changed
from tests.accounts.totp_helpers import (
    code_for, code_from_manual_key, code_step, password_step, require_for, set_up_authenticator,
)

ENROL_URL = "/account/two-factor/set-up/"


def _manual_key(html: str) -> str:
    return re.search(r'<code id="manual-key">([A-Z2-7 ]+)</code>', html).group(1)


def _codes(html: str) -> list[str]:
    return re.findall(r"<li><code>([a-z2-7]{8})</code></li>", html)


def _stored_backup_codes(user) -> list[str]:
    return list(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))


@pytest.fixture
def changes():
    seen: list[SecondFactorChange] = []

    def receiver(sender, change, **kwargs):
        seen.append(change)

    second_factor_changed.connect(receiver)
    yield seen
    second_factor_changed.disconnect(receiver)


def test_someone_sets_up_an_authenticator_from_the_qr_code_page(client, personas, time_machine, changes,
                                                                 django_capture_on_commit_callbacks):
    time_machine.move_to(dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.timezone.utc), tick=False)
    client.force_login(personas.alice)
    page = client.get(ENROL_URL)
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html, "the QR code is an inline image"
    key = _manual_key(html)
    assert _manual_key(client.get(ENROL_URL).content.decode()) == key, "a reload shows the same key"
    assert TOTPDevice.objects.filter(user=personas.alice, confirmed=False).count() == 1

    wrong = client.post(ENROL_URL, {"code": "12345"})
    assert wrong.status_code == 422
    assert not TOTPDevice.objects.filter(user=personas.alice, confirmed=True).exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(ENROL_URL, {"code": code_from_manual_key(key)})
    assert done.status_code == 201
    codes = _codes(done.content.decode())
    assert len(codes) == 10
    device = TOTPDevice.objects.get(user=personas.alice)
    assert device.confirmed and device.name == "Authenticator app"
    assert sorted(_stored_backup_codes(personas.alice)) == sorted(codes)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id, "this session passed the code"
    assert client.get("/cases/").status_code == 200
    assert b"You sign in with an authenticator app, set up on 4 Dec 2026." in client.get("/account/two-factor/").content
    assert changes == [SecondFactorChange(action="enrolled", by_id=personas.alice.pk, user_id=personas.alice.pk)]


def _verified_client(user, device) -> Client:
    client = Client()
    password_step(client, user.username)
    assert code_step(client, code_for(device)).status_code == 302
    return client


def test_backup_codes_are_shown_and_made_anew_after_a_fresh_code(personas, time_machine):
    device, codes = set_up_authenticator(personas.alice, time_machine)
    client = _verified_client(personas.alice, device)
    time_machine.shift(dt.timedelta(seconds=30))

    refused = client.post("/account/two-factor/backup-codes/", {"code": "999999", "action": "show"})
    assert refused.status_code == 422 and _codes(refused.content.decode()) == []

    time_machine.shift(dt.timedelta(seconds=30))
    shown = client.post("/account/two-factor/backup-codes/", {"code": code_for(device), "action": "show"})
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    assert _codes(shown.content.decode()) == codes

    time_machine.shift(dt.timedelta(seconds=30))
    made = client.post("/account/two-factor/backup-codes/", {"code": code_for(device), "action": "new"})
    new = _codes(made.content.decode())
    assert len(new) == 10 and not set(new) & set(codes)
    assert sorted(_stored_backup_codes(personas.alice)) == sorted(new)


def test_removing_the_authenticator_needs_a_fresh_code(personas, time_machine):
    device, _ = set_up_authenticator(personas.alice, time_machine)
    client = _verified_client(personas.alice, device)
    refused = client.post("/account/two-factor/remove/", {"remove-code": code_for(device)})  # used to sign in
    assert refused.status_code == 422
    assert TOTPDevice.objects.filter(user=personas.alice).exists()

    time_machine.shift(dt.timedelta(seconds=30))
    response = client.post("/account/two-factor/remove/", {"remove-code": code_for(device)})
    assert (response.status_code, response["Location"]) == (302, "/account/two-factor/")
    assert not TOTPDevice.objects.filter(user=personas.alice).exists()
    assert not StaticDevice.objects.filter(user=personas.alice).exists()
    assert client.get("/cases/").status_code == 200, "not required for agents: the session goes on"
    fresh = Client()
    assert password_step(fresh, "alice")["Location"] == "/", "the password alone signs in again"


def test_removing_it_when_the_role_requires_one_leads_straight_to_a_new_set_up(personas, time_machine):
    device, _ = set_up_authenticator(personas.alice, time_machine)
    require_for(personas.adam, agents=True)
    client = _verified_client(personas.alice, device)
    time_machine.shift(dt.timedelta(seconds=30))
    response = client.post("/account/two-factor/remove/", {"remove-code": code_for(device)})
    assert (response.status_code, response["Location"]) == (302, ENROL_URL)
    assert "_auth_user_id" not in client.session
    assert client.get("/cases/")["Location"] == ENROL_URL


def test_a_required_role_is_sent_to_set_up_after_the_password_and_nowhere_else(personas):
    require_for(personas.adam, agents=True)
    client = Client()
    response = password_step(client, "alice", next_url="/cases/")
    assert (response.status_code, response["Location"]) == (302, ENROL_URL)
    assert "_auth_user_id" not in client.session
    for url in ("/", "/cases/", "/account/api-tokens/", "/account/two-factor/", "/settings/users/", "/admin/",
                "/reports/overdue/", "/login/code/"):
        blocked = client.get(url)
        assert blocked.status_code == 302 and blocked["Location"] == ENROL_URL, url
    assert client.post("/account/api-tokens/", {"name": "sneaky"})["Location"] == ENROL_URL
    assert client.get("/cases/", HTTP_HX_REQUEST="true")["HX-Redirect"] == ENROL_URL
    assert client.get("/api/v1/cases/").status_code == 401

    key = _manual_key(client.get(ENROL_URL).content.decode())
    done = client.post(ENROL_URL, {"code": code_from_manual_key(key)})
    assert done.status_code == 201 and len(_codes(done.content.decode())) == 10
    assert 'href="/cases/"' in done.content.decode(), "continue goes where the sign-in was headed"
    assert client.session["_auth_user_id"] == str(personas.alice.pk)
    assert client.get("/cases/").status_code == 200


def test_a_policy_switched_on_reaches_sessions_already_signed_in(personas):
    client = Client()
    client.force_login(personas.mia)
    assert client.get("/reports/overdue/").status_code == 200
    require_for(personas.adam, managers=True)
    assert client.get("/api/v1/cases/").status_code in (401, 403), "the API treats the session as signed out"
    response = client.get("/reports/overdue/")
    assert (response.status_code, response["Location"]) == (302, ENROL_URL)
    assert "_auth_user_id" not in client.session
    other = Client()
    other.force_login(personas.alice)
    assert other.get("/cases/").status_code == 200, "agents are not required"


def test_the_policy_page_is_for_cx_admins(client, personas, changes, django_capture_on_commit_callbacks):
    client.force_login(personas.mia)
    assert client.get("/settings/two-factor/").status_code == 404
    assert client.post("/settings/two-factor/", {"managers": "on"}).status_code == 404
    client.force_login(personas.adam)
    page = client.get("/settings/two-factor/")
    assert page.status_code == 200
    assert b'href="/settings/two-factor/">Two-factor sign-in</a>' in client.get("/settings/teams/").content
    index = client.get("/settings/").content
    assert b'<a href="/settings/two-factor/"><strong>Two-factor sign-in</strong></a>' in index
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/settings/two-factor/", {"agents": "on", "managers": "on"})
    assert (response.status_code, response["Location"]) == (302, "/settings/two-factor/")
    policy = TwoFactorPolicy.objects.get()
    assert (policy.agents_required, policy.managers_required, policy.admins_required) == (True, True, False)
    assert policy.updated_by == personas.adam
    assert changes == [SecondFactorChange(action="policy_changed", by_id=personas.adam.pk, user_id=None,
                                          detail="agent,manager")]


def test_a_cx_admin_resets_someone_elses_second_factor(client, personas, time_machine, changes,
                                                       django_capture_on_commit_callbacks):
    set_up_authenticator(personas.alice, time_machine)
    changes.clear()
    client.force_login(personas.mia)
    assert client.post(f"/settings/users/{personas.alice.pk}/two-factor/reset/").status_code == 404
    assert TOTPDevice.objects.filter(user=personas.alice).exists()

    client.force_login(personas.adam)
    users = client.get("/settings/users/").content.decode()
    def row(user) -> str:
        return re.search(rf'<tr id="user-{user.pk}">(.*?)</tr>', users, re.S).group(1)

    assert row(personas.alice).rstrip().endswith("<td>On</td>")
    assert row(personas.bob).rstrip().endswith('<td><span class="muted">Off</span></td>')
    assert b"Reset two-factor sign-in" in client.get(f"/settings/users/{personas.alice.pk}/").content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/settings/users/{personas.alice.pk}/two-factor/reset/")
    assert (response.status_code, response["Location"]) == (302, f"/settings/users/{personas.alice.pk}/")
    assert not TOTPDevice.objects.filter(user=personas.alice).exists()
    assert not StaticDevice.objects.filter(user=personas.alice).exists()
    assert changes == [SecondFactorChange(action="reset", by_id=personas.adam.pk, user_id=personas.alice.pk)]
    alice = Client()
    assert password_step(alice, "alice")["Location"] == "/", "the password alone signs in again"
    assert alice.session["_auth_user_id"] == str(personas.alice.pk)

    again = client.post(f"/settings/users/{personas.alice.pk}/two-factor/reset/", follow=True)
    assert b"has no authenticator app to reset" in again.content


def test_the_command_line_resets_a_cx_admin_who_lost_their_phone(personas, time_machine):
    from django.core.management import CommandError, call_command

    set_up_authenticator(personas.adam, time_machine)
    call_command("two_factor_reset", "adam")
    assert not TOTPDevice.objects.filter(user=personas.adam).exists()
    with pytest.raises(CommandError, match="has no authenticator app to reset"):
        call_command("two_factor_reset", "adam")
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("two_factor_reset", "nobody")
