"""Signing in with a second factor: the password alone no longer signs in someone who has an
authenticator app; the code does, once; wrong codes are slowed down and count toward the same
lockout as wrong passwords; backup codes work once; the API's tokens are untouched; single
sign-on sessions are not asked. The clock is fixed (time-machine's `time_machine` fixture)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.totp_helpers import T0, code_for, code_step, password_step, require_for, set_up_authenticator
from tests.factories import PASSWORD, api_key_for

CODE_URL = "/login/code/"


@pytest.fixture
def alice_device(personas, time_machine):
    device, codes = set_up_authenticator(personas.alice, time_machine)
    return device, codes


def test_the_password_alone_does_not_sign_in_someone_with_an_authenticator(client, personas, alice_device):
    response = password_step(client, "alice")
    assert response.status_code == 302 and response["Location"] == CODE_URL
    assert "_auth_user_id" not in client.session
    page = client.get(CODE_URL)
    assert page.status_code == 200 and b"Enter your code" in page.content
    for url in ("/", "/cases/", "/account/api-tokens/", "/settings/"):
        blocked = client.get(url)
        assert (blocked.status_code, blocked["Location"]) == (302, CODE_URL), url
    assert client.get("/api/v1/cases/").status_code == 401


def test_the_right_code_signs_in_and_goes_where_the_sign_in_was_headed(client, personas, alice_device):
    device, _ = alice_device
    password_step(client, "alice", next_url="/account/api-tokens/")
    response = code_step(client, code_for(device))
    assert (response.status_code, response["Location"]) == (302, "/account/api-tokens/")
    assert client.session["_auth_user_id"] == str(personas.alice.pk)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get("/cases/").status_code == 200
    device.refresh_from_db()
    assert device.last_used_at == T0


def test_a_wrong_code_is_refused_then_codes_wait_for_the_throttle(client, personas, alice_device, time_machine):
    device, _ = alice_device
    password_step(client, "alice")
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    response = code_step(client, wrong)
    assert response.status_code == 422
    assert ("That code is not right, or it was used already: enter the code your authenticator app shows now."
            in response.content.decode())
    assert "_auth_user_id" not in client.session
    assert TOTPDevice.objects.get(pk=device.pk).throttling_failure_count == 1

    too_soon = code_step(client, code_for(device))
    assert too_soon.status_code == 429 and too_soon["Retry-After"] == "1"
    assert b"Too many wrong codes: wait 1 second, then enter the current code." in too_soon.content
    assert "_auth_user_id" not in client.session

    time_machine.shift(dt.timedelta(seconds=2))
    assert code_step(client, code_for(device)).status_code == 302
    assert client.session["_auth_user_id"] == str(personas.alice.pk)
    assert TOTPDevice.objects.get(pk=device.pk).throttling_failure_count == 0


def test_a_replayed_code_is_refused(personas, alice_device, time_machine):
    device, _ = alice_device
    first = Client()
    password_step(first, "alice")
    code = code_for(device)
    assert code_step(first, code).status_code == 302

    time_machine.shift(dt.timedelta(seconds=5))  # same 30-second step: the app still shows it
    assert code_for(device) == code
    second = Client()
    password_step(second, "alice")
    replay = code_step(second, code)
    assert replay.status_code == 422
    assert "_auth_user_id" not in second.session


def test_wrong_codes_count_toward_the_sign_in_lockout(personas, alice_device, time_machine):
    """django-axes counts a wrong code like a wrong password: at LOGIN_FAILURE_LIMIT the user name
    is locked, for the password step too."""
    device, _ = alice_device
    client = Client(REMOTE_ADDR="10.0.0.7")
    password_step(client, "alice")
    statuses = []
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        time_machine.shift(dt.timedelta(seconds=2 ** attempt + 1))  # past django-otp's own delay
        statuses.append(code_step(client, "000000" if code_for(device) != "000000" else "111111").status_code)
    assert statuses == [422] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    again = Client(REMOTE_ADDR="10.0.0.8")
    locked = password_step(again, "alice")
    assert locked.status_code == 429, "the right password is refused while the user name is locked"
    assert "_auth_user_id" not in again.session


def test_a_locked_user_name_cannot_pass_the_code_step(personas, alice_device):
    device, _ = alice_device
    client = Client(REMOTE_ADDR="10.0.0.9")
    password_step(client, "alice")
    for i in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR=f"10.0.1.{i}").post(reverse("login"), {"username": "alice", "password": "wrong"})
    response = code_step(client, code_for(device))
    assert response.status_code == 429 and b"Too many sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_a_backup_code_signs_in_once(personas, alice_device):
    device, codes = alice_device
    client = Client()
    password_step(client, "alice")
    response = code_step(client, codes[0].upper()[:5] + "-" + codes[0][5:])
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(personas.alice.pk)
    assert sorted(StaticToken.objects.filter(device__user=personas.alice).values_list("token", flat=True)) \
        == sorted(codes[1:])
    assert "9 are left" in client.get("/", follow=True).content.decode()

    again = Client()
    password_step(again, "alice")
    assert code_step(again, codes[0]).status_code == 422
    assert "_auth_user_id" not in again.session


def test_a_sign_in_waits_ten_minutes_for_its_code(client, personas, alice_device, time_machine):
    device, _ = alice_device
    password_step(client, "alice")
    time_machine.shift(dt.timedelta(seconds=settings.TWO_FACTOR_PENDING_SECONDS + 1))
    response = code_step(client, code_for(device))
    assert (response.status_code, response["Location"]) == (302, reverse("login"))
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("who", ["alice", "bob"], ids=["with-an-authenticator", "required-without-one"])
def test_api_tokens_are_unaffected(personas, alice_device, api_client, who):
    require_for(personas.adam, agents=True, managers=True, admins=True)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(getattr(personas, who))}")
    response = api_client.get("/api/v1/cases/")
    assert response.status_code == 200 and "results" in response.json()


def test_a_session_signed_in_through_single_sign_on_is_not_asked_for_a_code(personas, alice_device, settings):
    require_for(personas.adam, agents=True)
    model_backend = "accounts.backends.ModelBackend"
    settings.TWO_FACTOR_SSO_BACKENDS = [model_backend]
    client = Client()
    client.force_login(personas.alice, backend=model_backend)
    assert client.session[BACKEND_SESSION_KEY] == model_backend
    assert client.get("/cases/").status_code == 200

    settings.TWO_FACTOR_SSO_BACKENDS = ["accounts.sso."]
    response = client.get("/cases/")
    assert (response.status_code, response["Location"]) == (302, CODE_URL), "a password session is asked"


def test_an_sso_callback_can_mark_its_session(rf, personas):
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.two_factor.session import is_single_sign_on, mark_single_sign_on

    request = rf.get("/")
    request.session = SessionStore()
    assert not is_single_sign_on(request)
    mark_single_sign_on(request)
    assert is_single_sign_on(request)


def test_an_authenticator_set_up_elsewhere_asks_this_session_for_its_code(personas, time_machine):
    """A session signed in with the password before the authenticator was set up (in another
    browser) is asked for a code at its next page."""
    client = Client()
    client.force_login(personas.alice)
    assert client.get("/cases/").status_code == 200
    device, _ = set_up_authenticator(personas.alice, time_machine)
    response = client.get("/cases/")
    assert (response.status_code, response["Location"]) == (302, CODE_URL)
    assert "_auth_user_id" not in client.session
    assert code_step(client, code_for(device))["Location"] == "/cases/"
    assert client.session["_auth_user_id"] == str(personas.alice.pk)


def test_people_without_an_authenticator_sign_in_with_the_password(client, personas):
    response = client.post(reverse("login"), {"username": "mia", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] != CODE_URL
    assert client.session["_auth_user_id"] == str(personas.mia.pk)


def test_the_django_admin_signs_in_through_the_products_sign_in_page(client, personas, alice_device):
    page = client.get("/admin/login/?next=/admin/accounts/team/")
    assert (page.status_code, page["Location"]) == (302, "/login/?next=/admin/accounts/team/")
    posted = client.post("/admin/login/", {"username": "adam", "password": PASSWORD})
    assert posted.status_code == 302 and posted["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session, "the admin's own form signs nobody in"
    client.force_login(personas.mia)
    assert client.get("/admin/login/").status_code == 200, "signed in, not staff: the admin's own answer"


def test_the_gates_device_check_is_the_orms_for_each_person(personas, time_machine):
    """second_factor_needed reads its statement compiled once per process (core.compiled): the
    same answer as the ORM's exists() for each person, an unconfirmed device not counted, and
    another person's device never counted for this one."""
    from accounts.two_factor.services import second_factor_needed

    def orm(user) -> bool:
        return TOTPDevice.objects.filter(user=user, confirmed=True).exists()

    for user in (personas.alice, personas.bob):
        assert second_factor_needed(user) is None and not orm(user)
    unconfirmed = TOTPDevice.objects.create(user=personas.bob, name="half set up", confirmed=False)
    assert second_factor_needed(personas.bob) is None and not orm(personas.bob)
    set_up_authenticator(personas.alice, time_machine)
    assert second_factor_needed(personas.alice) == "code" and orm(personas.alice)
    assert second_factor_needed(personas.bob) is None and not orm(personas.bob)
    unconfirmed.confirmed = True
    unconfirmed.save()
    assert second_factor_needed(personas.bob) == "code" and orm(personas.bob)
