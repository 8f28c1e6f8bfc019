"""Sign-in throttling and lockout, counted in the shared Redis cache, also under concurrency."""

from __future__ import annotations

from functools import partial

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.concurrency import run_concurrently
from tests.factories import PASSWORD

LIMIT = settings.AXES_FAILURE_LIMIT


def _attempt(username: str, password: str, ip: str = "10.0.0.1") -> int:
    return Client(REMOTE_ADDR=ip).post(reverse("login"), {"username": username, "password": password}).status_code


def test_it_locks_a_user_name_after_repeated_failures(personas):
    statuses = [_attempt("alice", f"wrong-{i}") for i in range(LIMIT)]
    assert statuses == [200] * (LIMIT - 1) + [429]
    response = Client(REMOTE_ADDR="10.0.0.2").post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429, "the right password from another address is still refused"
    assert int(response["Retry-After"]) == int(settings.AXES_COOLOFF_TIME * 3600)
    assert b"Too many sign-in attempts" in response.content
    assert _attempt("bob", PASSWORD, ip="10.0.0.3") == 302, "other users are unaffected"


def test_it_locks_an_address_that_tries_many_user_names(personas):
    for i in range(LIMIT):
        _attempt(f"nobody-{i}", "guess", ip="10.9.9.9")
    assert _attempt("bob", PASSWORD, ip="10.9.9.9") == 429
    assert _attempt("bob", PASSWORD, ip="10.9.9.10") == 302


def test_a_successful_sign_in_resets_the_count(personas):
    for i in range(LIMIT - 1):
        _attempt("alice", "wrong")
    assert _attempt("alice", PASSWORD) == 302
    for i in range(LIMIT - 1):
        assert _attempt("alice", "wrong") == 200


def test_failures_are_counted_in_the_shared_cache(personas):
    from django.core.cache import cache

    _attempt("alice", "wrong")
    assert any(key for key in cache._cache.get_client().keys("*axes*")), "the counter lives in Redis"


@pytest.mark.django_db(transaction=True)
def test_concurrent_guessing_never_gets_more_than_the_limit(personas):
    """40 guesses at once from many addresses: at most LIMIT are even checked against the
    password (the rest get 429), and the account stays locked for the right password."""
    def guesser(first):  # 8 at once, 5 guesses each
        return [_attempt("alice", f"guess-{i}", ip=f"10.1.{i}.1") for i in range(first, first + 5)]

    statuses = sum(run_concurrently(*[partial(guesser, first) for first in range(0, 40, 5)]), [])
    assert len(statuses) == 40
    assert statuses.count(429) >= 40 - LIMIT
    assert statuses.count(200) <= LIMIT
    assert _attempt("alice", PASSWORD, ip="10.2.0.1") == 429


def test_the_api_token_path_is_not_a_password_oracle(api_client, personas):
    """The API takes tokens, not passwords: basic auth is not enabled."""
    import base64

    api_client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode())
    assert api_client.get("/api/v1/customers/1/export/").status_code == 401
