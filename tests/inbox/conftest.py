"""Inbox test set-up: a fast password hasher (Django's ORM beside Playwright: tests/conftest.py)."""

import pytest


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Personas are created and sign in for every test; the production hasher's cost is the point
    in production and only slowness here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


