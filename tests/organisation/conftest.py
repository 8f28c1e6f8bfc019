import html

import pytest


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """The personas' passwords are hashed with a fast hasher here: these tests are about settings."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def text(response) -> str:
    """A page's HTML with entities decoded, so messages compare literally."""
    return html.unescape(response.content.decode())
