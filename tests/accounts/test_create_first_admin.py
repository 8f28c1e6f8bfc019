"""`manage.py create_first_admin` (docs/deployment.md): the first sign-in of a new installation."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, User


def _run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command("create_first_admin", *args, stdout=out, **kwargs)
    return out.getvalue()


@pytest.mark.django_db
def test_creates_an_admin_from_the_environment_and_a_rerun_changes_nothing(monkeypatch):
    monkeypatch.setenv("CLOSELOOP_ADMIN_PASSWORD", "first-admin-Pa55word")
    assert "Administrator 'root' created" in _run("--username", "root", "--email", "root@example.com")
    user = User.objects.get(username="root")
    assert (user.role, user.is_staff, user.is_superuser, user.email) == (Role.ADMIN, True, True, "root@example.com")
    assert user.check_password("first-admin-Pa55word")

    monkeypatch.setenv("CLOSELOOP_ADMIN_PASSWORD", "another-Pa55word-entirely")
    assert "User 'root' exists already; nothing changed." in _run("--username", "root", "--email", "x@example.com")
    user.refresh_from_db()
    assert user.check_password("first-admin-Pa55word") and user.email == "root@example.com"


@pytest.mark.django_db
def test_if_no_admin_does_nothing_once_an_admin_exists(monkeypatch):
    monkeypatch.setenv("CLOSELOOP_ADMIN_PASSWORD", "first-admin-Pa55word")
    User.objects.create_user("ada", role=Role.ADMIN)
    out = _run("--username", "second", "--email", "s@example.com", "--if-no-admin")
    assert out.strip() == "An administrator exists already; nothing changed (--if-no-admin)."
    assert not User.objects.filter(username="second").exists()


@pytest.mark.django_db
def test_a_weak_password_or_no_password_is_refused_with_what_to_do(monkeypatch):
    monkeypatch.setenv("CLOSELOOP_ADMIN_PASSWORD", "admin")
    with pytest.raises(CommandError, match="Password refused: .*too short"):
        _run("--username", "admin", "--email", "a@example.com")
    monkeypatch.delenv("CLOSELOOP_ADMIN_PASSWORD")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal to ask in
    with pytest.raises(CommandError, match="Set CLOSELOOP_ADMIN_PASSWORD, or run this in a terminal"):
        _run("--username", "admin", "--email", "a@example.com")
    with pytest.raises(CommandError, match="--email is needed"):
        _run("--username", "admin")
    assert not User.objects.filter(username="admin").exists()
