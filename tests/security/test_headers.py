"""Security headers on every page, secure cookies and HSTS when DEBUG is off, and the deploy check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-random-value-for-the-test-only-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "closeloop.example.com",
    "DATABASE_URL": "sqlite:////tmp/closeloop-deploy-test.sqlite3",
    "CLOSELOOP_TESTING": "false",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "CLOSELOOP_ENCRYPTION_KEYS": "YmVuY2gtYW5kLWZhdWx0cy1lbmNyeXB0aW9uLWtleSE=",
}


def _production(code: str) -> str:
    # The browser tests switch async safety off for the session (Playwright keeps a loop in the
    # main thread); a production process never has that switch, so neither does this one.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    } | PRODUCTION_ENV
    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup(); " + code],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_pages_carry_the_security_headers(client, personas):
    client.force_login(personas.alice)
    for path in ["/login/", "/", "/api/schema/", "/healthz"]:
        response = client.get(path, follow=True)
        assert response["X-Content-Type-Options"] == "nosniff", path
        assert response["Referrer-Policy"] == "same-origin", path
        assert response["X-Frame-Options"] == "DENY", path
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert "unsafe-eval" not in policy and "script-src 'self' 'unsafe-inline'" not in policy


@pytest.mark.slow  # a Python process with production settings
def test_production_settings_are_strict():
    out = _production(
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_HTTPONLY, s.SECURE_HSTS_INCLUDE_SUBDOMAINS)"
    )
    assert out.split() == ["True", "True", "31536000", "True", "True", "True"]


@pytest.mark.slow  # a Python process with production settings
def test_deploy_check_is_clean():
    _production(
        "from django.core.management import call_command; "
        "call_command('check', deploy=True, fail_level='WARNING')"
    )


def test_no_page_needs_an_inline_script(client, personas):
    """The CSP allows scripts only from our static files: every HTML page the resolver knows,
    rendered for an admin, has no inline <script>, no on*= handler and no javascript: URL."""
    import re

    from tests.security.data import make_customer_story
    from tests.security.urls import all_routes

    story = make_customer_story(personas.north, suffix="csp", closed=False)
    client.force_login(personas.adam)
    offenders = []
    for route in all_routes():
        if route.path.startswith(("api/", "webhooks/", "metrics", "logout/")) or "(?" in route.path or "<format>" in route.path:
            continue
        url = route.url(reference=story.case.reference, pk=story.case.pk, slug=story.source.slug, action="claim", direction="up")
        response = client.get(url)
        if "text/html" not in response.get("Content-Type", "") or response.streaming:
            continue
        html = response.content.decode(errors="replace")
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", html):
            offenders.append(f"{url}: inline <script>")
        if re.search(r"<[^>]+\son[a-z]+\s*=", html):
            offenders.append(f"{url}: on*= event handler")
        if "javascript:" in html:
            offenders.append(f"{url}: javascript: URL")
    assert not offenders, "blocked by the Content-Security-Policy:\n" + "\n".join(offenders)


def test_api_docs_work_offline_under_the_strict_policy(client, personas):
    """Swagger UI comes from our own static files: no third-party host in the page or the policy."""
    client.force_login(personas.alice)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "https://" not in html
    assert "https://" not in response["Content-Security-Policy"]
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
