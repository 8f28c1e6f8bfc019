"""Inbox test set-up: a fast password hasher, and Django's ORM beside Playwright."""

import os

import pytest


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Personas are created and sign in for every test; the production hasher's cost is the point
    in production and only slowness here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def browser(django_db_setup, browser):
    """The test database exists before Playwright starts, and from then on the ORM may run here.

    Playwright's sync API keeps an asyncio loop in the main thread for the rest of the session,
    which makes Django refuse synchronous ORM calls there (test data, the transactional flush,
    and every later test's database access). Those calls are ordinary synchronous code, so the
    check is switched off from the moment the browser starts until the session ends (the setting
    Playwright documents for pytest-django; tests/reporting does the same)."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield browser
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
