"""The ModelBackend (accounts.backends.ModelBackend): Django's, the signed-in person read by a
statement compiled once per process. What a signed-in person relies on: a session signed in
before the backend was replaced (it names Django's ModelBackend) still signs them in, and one
signed in now is stored as before (so the code before the change reads it too), a
deactivated person or a changed password signs the session out, and the person read is the row
as the ORM reads it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.db import connection
from django.test import Client

from accounts.backends import ModelBackend
from accounts.models import User
from core.compiled import is_compiled
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

DJANGO_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _client_with_session(user, backend: str) -> Client:
    """A browser holding a session stored as Django's store and login() wrote it for `backend`."""
    stored = DjangoStore()
    stored.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: backend,
                   HASH_SESSION_KEY: user.get_session_auth_hash()})
    stored.save()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = stored.session_key
    return client


def test_signing_in_names_this_backend(personas):
    assert "accounts.backends.ModelBackend" in settings.AUTHENTICATION_BACKENDS
    assert DJANGO_MODEL_BACKEND not in settings.AUTHENTICATION_BACKENDS
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    assert client.session[BACKEND_SESSION_KEY] == "accounts.backends.ModelBackend"
    # Stored naming Django's ModelBackend, as before the change: the code before it reads it too.
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert DjangoStore(session_key=key).load()[BACKEND_SESSION_KEY] == DJANGO_MODEL_BACKEND
    page = client.get("/cases/")
    assert page.status_code == 200 and page.context["user"].username == "alice"
    if connection.vendor == "postgresql":
        assert is_compiled(("accounts.backend_user",))


def test_a_session_signed_in_by_djangos_model_backend_stays_signed_in(personas):
    client = _client_with_session(personas.bob, DJANGO_MODEL_BACKEND)
    page = client.get("/cases/")
    assert page.status_code == 200
    assert page.context["user"].username == "bob"
    assert client.session[BACKEND_SESSION_KEY] == "accounts.backends.ModelBackend"


def test_a_deactivated_person_or_a_changed_password_signs_the_session_out(personas):
    client = _client_with_session(personas.bob, DJANGO_MODEL_BACKEND)
    assert client.get("/cases/").status_code == 200
    User.objects.filter(pk=personas.bob.pk).update(is_active=False)
    assert client.get("/cases/").status_code == 302  # to the sign-in page

    client = _client_with_session(personas.alice, "accounts.backends.ModelBackend")
    assert client.get("/cases/").status_code == 200
    personas.alice.set_password("another-password-42")
    personas.alice.save()
    assert client.get("/cases/").status_code == 302


def test_the_person_read_is_the_orms(personas):
    backend = ModelBackend()
    for user in (personas.alice, personas.adam):
        lean, orm = backend.get_user(user.pk), User.objects.get(pk=user.pk)
        assert lean == orm
        assert {f.attname: getattr(lean, f.attname) for f in User._meta.concrete_fields} == \
               {f.attname: getattr(orm, f.attname) for f in User._meta.concrete_fields}
        assert lean._state.adding is False and lean._state.db == orm._state.db
        assert lean.get_session_auth_hash() == orm.get_session_auth_hash()
    assert backend.get_user(10**9) is None
