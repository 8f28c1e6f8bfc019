"""Inbox test set-up: a fast password hasher (personas are created and log in for every test;
the production hasher's cost is the point in production and only slowness here)."""

import pytest


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
