"""CSRF is enforced on every session-authenticated unsafe request. The only exempt routes are
the webhooks, which refuse anything without a valid signature, and SCIM, which refuses anything
without a SCIM bearer token (a session cookie is not enough)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.security.urls import all_routes

UNSAFE = ["post", "put", "patch", "delete"]


def _routes():
    return [r for r in all_routes() if not r.is_token_only and "(?" not in r.path and "<format>" not in r.path]


def _refused(response) -> bool:
    """403 (CSRF failure: Django's middleware or DRF's SessionAuthentication, which both run
    before any view code), 404 (nothing resolved) or 405 (no handler ran): nothing changed."""
    return response.status_code in (403, 404, 405)


@pytest.mark.parametrize("who", ["alice", "adam"])
def test_every_unsafe_request_without_a_token_is_refused(personas, who):
    client = Client(enforce_csrf_checks=True)
    client.force_login(getattr(personas, who))
    failures = []
    routes = _routes()
    assert len(routes) > 20, "the resolver walk found too few routes"
    for route in routes:
        url = route.url()
        for method in UNSAFE if url.startswith("/api/") else ["post"]:
            response = getattr(client, method)(url, data={}, content_type="application/json") if method != "post" \
                else client.post(url, {"field": "value"})
            if not _refused(response):
                failures.append(f"{method.upper()} {url} -> {response.status_code}")
    assert not failures, "unsafe requests accepted without a CSRF token:\n" + "\n".join(failures)


def test_requests_with_the_token_get_through(personas):
    from tests.factories import PASSWORD

    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    token = client.cookies["csrftoken"].value
    refused = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert refused.status_code == 403
    response = client.post("/login/", {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_only_webhook_and_api_views_skip_django_csrf_middleware():
    """DRF views are csrf_exempt for Django but enforce CSRF themselves for session users
    (SessionAuthentication); anything else exempt must be a webhook."""
    from rest_framework.authentication import SessionAuthentication

    offenders = []
    for route in all_routes():
        callback = route.callback
        if not getattr(callback, "csrf_exempt", False) or route.is_token_only:
            continue
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        auth = getattr(view_class, "authentication_classes", None) if view_class else None
        if auth is not None and (not auth or all(issubclass(a, SessionAuthentication) or "Session" not in a.__name__ for a in auth)):
            continue  # DRF: no session auth at all, or SessionAuthentication (enforces CSRF)
        offenders.append(route.path)
    assert not offenders, offenders


def test_webhooks_are_exempt_but_need_a_signature(client, db):
    from surveys.services import source_create

    source = source_create(name="Typeform", slug="tf", vendor="typeform", secret="s3cret-value-for-test")
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(f"/webhooks/{source.slug}/", data=b'{"event_id": "1"}', content_type="application/json")
    assert response.status_code == 401
    from surveys.models import WebhookDelivery

    assert not WebhookDelivery.objects.exists(), "an unsigned delivery is not stored"


@pytest.mark.parametrize("page", ["inbox", "case"])
def test_a_page_prints_one_token_that_a_post_accepts_and_the_next_page_another(personas, page):
    """The page's token (the HTMX header, the sign-out form, the content's forms) is masked once
    per response (core.csrf): one value everywhere in the page, accepted by a form's POST, and a
    new mask on the next page (the secret in the cookie stays the same)."""
    import re

    from tests.factories import CaseFactory

    case = CaseFactory(team=personas.north, assignee=personas.alice)
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.alice)
    url = "/cases/" if page == "inbox" else f"/cases/{case.reference}/"

    def tokens() -> list[str]:
        html = client.get(url).content.decode()
        return (re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
                + re.findall(r'"X-CSRFToken": "([^"]+)"', html))

    first, second = tokens(), tokens()
    assert len(first) >= 3 and len(set(first)) == 1, first
    assert len(set(second)) == 1 and second[0] != first[0]
    refused = client.post("/logout/")
    assert refused.status_code == 403
    assert client.post("/logout/", {"csrfmiddlewaretoken": first[0]}).status_code == 302
    assert "_auth_user_id" not in client.session
