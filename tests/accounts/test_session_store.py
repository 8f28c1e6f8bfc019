"""The session store (accounts/sessions.py): Django's database sessions, read by a statement
compiled once per process. What a signed-in person relies on: the session holds, an expired or
deleted one signs them out, and sessions written by Django's own store keep working."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.sessions import SessionStore
from core.compiled import is_compiled
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _signed_in(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def test_the_product_uses_this_store(personas):
    assert settings.SESSION_ENGINE == "accounts.sessions"
    client = _signed_in("alice")
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get("/cases/").status_code == 200
    assert SessionStore(session_key=key).load()[SESSION_KEY] == str(personas.alice.pk)
    if connection.vendor == "postgresql":  # SQLite's times are adapted as text: Django's query each time
        assert is_compiled(("accounts.session",))


def test_an_expired_or_deleted_session_signs_the_person_out(personas):
    client = _signed_in("alice")
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    assert SessionStore(session_key=key).load() == {}
    assert client.get("/cases/").status_code == 302  # to the sign-in page

    client = _signed_in("bob")
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(session_key=key).delete()
    assert client.get("/cases/").status_code == 302
    assert SessionStore(session_key=None).load() == {}


def test_a_session_django_stored_loads_here_and_back(personas):
    django = DjangoStore()
    django[SESSION_KEY] = str(personas.bob.pk)
    django["marker"] = "kept"
    django.save()
    ours = SessionStore(session_key=django.session_key)
    assert ours.load() == {SESSION_KEY: str(personas.bob.pk), "marker": "kept"}
    ours["marker"] = "changed"
    ours.save()
    assert DjangoStore(session_key=django.session_key).load()["marker"] == "changed"
