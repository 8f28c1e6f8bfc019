"""The users pages: list, role changes, deactivate / reactivate, and the refusals that keep the
organisation from locking itself out (literal sentences, state checked in the database)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role, User
from tests.factories import PASSWORD, make_user


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_list_shows_everyone_with_role_teams_and_status(personas):
    invited = make_user("ines", email="ines@example.com")
    invited.set_unusable_password()
    invited.save()
    make_user("olga", is_active=False)
    html = _client(personas.adam).get("/settings/users/").content.decode()
    rows = {name: html.split(f">{name}</a>", 1)[1].split("</tr>", 1)[0] for name in ("alice", "mia", "ines", "olga")}
    assert "Frontline agent" in rows["alice"] and "North" in rows["alice"] and ">Active<" in rows["alice"]
    assert "Manager" in rows["mia"]
    assert ">Invited<" in rows["ines"]
    assert ">Deactivated<" in rows["olga"]


def test_an_admin_changes_a_role(personas):
    response = _client(personas.adam).post(f"/settings/users/{personas.alice.pk}/", {"role": "manager"}, follow=True)
    assert _messages(response) == ["alice is now a Manager."]
    personas.alice.refresh_from_db()
    assert personas.alice.role == Role.MANAGER


def test_deactivation_stops_sign_in_and_reactivation_restores_it(personas):
    admin = _client(personas.adam)
    response = admin.post(f"/settings/users/{personas.bob.pk}/deactivate/", follow=True)
    assert _messages(response) == [
        "bob is deactivated: they can no longer sign in or use the API. Their cases and history stay."]
    personas.bob.refresh_from_db()
    assert personas.bob.is_active is False
    refused = Client().post("/login/", {"username": "bob", "password": PASSWORD})
    assert refused.status_code == 200 and b"Please enter a correct username and password" in refused.content

    response = admin.post(f"/settings/users/{personas.bob.pk}/reactivate/", follow=True)
    assert _messages(response) == ["bob is active again and can sign in."]
    assert Client().post("/login/", {"username": "bob", "password": PASSWORD}).status_code == 302


def test_a_deactivated_users_open_session_stops_working(personas):
    bob = _client(personas.bob)
    assert bob.get("/cases/").status_code == 200
    _client(personas.adam).post(f"/settings/users/{personas.bob.pk}/deactivate/")
    assert bob.get("/cases/")["Location"].startswith("/login/")


def test_an_admin_cannot_deactivate_themselves(personas):
    make_user("ada", role=Role.ADMIN)  # not the last admin: the self rule alone refuses
    response = _client(personas.adam).post(f"/settings/users/{personas.adam.pk}/deactivate/", follow=True)
    assert _messages(response) == ["You cannot deactivate your own account: ask another CX admin."]
    personas.adam.refresh_from_db()
    assert personas.adam.is_active


def test_an_admin_cannot_remove_their_own_admin_role(personas):
    make_user("ada", role=Role.ADMIN)
    response = _client(personas.adam).post(f"/settings/users/{personas.adam.pk}/", {"role": "agent"})
    assert response.status_code == 422
    error = response.content.decode().split('id="id_role-error"', 1)[1].split("</p>", 1)[0]
    assert "You cannot remove your own CX admin role: ask another CX admin." in error
    personas.adam.refresh_from_db()
    assert personas.adam.role == Role.ADMIN


def test_the_last_active_admin_is_neither_demoted_nor_deactivated(personas):
    """ada was an admin when her request began; adam has deactivated her since. Acting on adam
    now would leave nobody: refused, whatever ada's request still believes about her."""
    from django.core.exceptions import ValidationError

    from accounts.services import user_update

    ada = make_user("ada", role=Role.ADMIN)
    _client(personas.adam).post(f"/settings/users/{ada.pk}/deactivate/")
    for change, field in [({"is_active": False}, "is_active"), ({"role": Role.AGENT}, "role")]:
        try:
            user_update(by=ada, user_id=personas.adam.pk, **change)
        except ValidationError as exc:
            assert exc.message_dict == {
                field: ["adam is the last active CX admin: make someone else a CX admin first."]}
        else:
            raise AssertionError("the last admin was changed")
    personas.adam.refresh_from_db()
    assert personas.adam.is_active and personas.adam.role == Role.ADMIN


@pytest.mark.django_db(transaction=True)
def test_two_admins_deactivating_each_other_at_once_leave_one(personas):
    from accounts.services import user_update
    from tests.concurrency import run_concurrently

    ada = make_user("ada", role=Role.ADMIN)

    def deactivate(by, target):
        def call():
            try:
                return user_update(by=by, user_id=target.pk, is_active=False).username
            except Exception as exc:  # noqa: BLE001 - the lost race is the expected refusal
                return " ".join(getattr(exc, "messages", [str(exc)]))
        return call

    results = run_concurrently(deactivate(personas.adam, ada), deactivate(ada, personas.adam))
    assert sorted(r.endswith("make someone else a CX admin first.") for r in results) == [False, True]
    assert User.objects.filter(username__in=["adam", "ada"], is_active=True).count() == 1


def test_only_a_superuser_changes_a_superuser(personas):
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    response = _client(personas.adam).post(f"/settings/users/{root.pk}/deactivate/", follow=True)
    assert _messages(response) == ["root is a superuser: only a superuser can change their account."]
    root.refresh_from_db()
    assert root.is_active


def test_resending_to_someone_with_a_password_is_refused(personas):
    response = _client(personas.adam).post(f"/settings/users/{personas.alice.pk}/resend-invitation/", follow=True)
    assert _messages(response) == [
        "alice has already set a password: they can use “Forgot your password?” on the sign-in page."]
