"""Issue #20 findings about configuration and operations: each test failed before its fix.

- `make run` signed with a key committed in the repository (a recovery link could be forged).
- Debug pages showed DATABASE_URL and REDIS_URL.
- Made-up HTTP methods added series to /metrics."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent.parent
# The key settings.py used for DEBUG without SECRET_KEY until issue #20 (public, in the repository).
PUBLISHED_KEY = "insecure-development-key-never-use-in-production-0123456789abcdef"
# Connection URLs with passwords, as production would have them (far from the traceback shown below).
DATABASE_URL = "postgres://closeloop:db-pass-123@db.internal:5432/closeloop"
REDIS_URL = "redis://:redis-pass-456@cache.internal:6379/0"


def test_make_run_makes_its_own_key_once_readable_by_its_owner_only(tmp_path):
    from config import runenv

    key = runenv.secret_key(tmp_path / "var")
    path = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 60 and key != PUBLISHED_KEY
    assert runenv.secret_key(tmp_path / "var") == key, "the same key after a restart"
    assert runenv.secret_key(tmp_path / "other") != key, "each checkout its own"


@pytest.mark.slow
def test_under_make_runs_settings_a_link_signed_with_the_published_key_is_refused(tmp_path):
    """settings.py as `make run` loads it (DEBUG on, no SECRET_KEY, not the test suite): the key is
    the one under var/, and a "Did we put it right?" token forged with the old published key fails."""
    script = (
        "import django, os; django.setup()\n"
        "from django.conf import settings\n"
        "from django.core import signing\n"
        "from followup.services.verification import TOKEN_SALT, read_token, LinkInvalid\n"
        f"forged = signing.dumps(1, salt=TOKEN_SALT, key={PUBLISHED_KEY!r})\n"
        "try:\n    read_token(forged); print('accepted')\nexcept LinkInvalid:\n    print('refused')\n"
        "print(settings.SECRET_KEY == open(os.environ['CLOSELOOP_VAR_DIR'] + '/secret_key').read().strip())\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "CLOSELOOP_TESTING", "DATABASE_URL"}}
    env.update(DEBUG="true", CLOSELOOP_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="config.settings",
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["refused", "True"]


def _debug_page(request) -> str:
    from django.views.debug import technical_500_response

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        return technical_500_response(request, *sys.exc_info()).content.decode()


def test_the_debug_page_hides_the_database_and_redis_urls(rf, settings):
    settings.DATABASE_URL, settings.REDIS_URL, settings.CELERY_BROKER_URL = DATABASE_URL, REDIS_URL, REDIS_URL
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "LOCATION": REDIS_URL}}
    page = _debug_page(rf.get("/broken/"))
    assert "boom" in page  # it is the debug page
    for secret in ("db-pass-123", "db.internal", "redis-pass-456", "cache.internal"):
        assert secret not in page


# --- /metrics: no client-chosen label values --------------------------------------------------------


@override_settings(ALLOWED_HOSTS=["*"])
def test_made_up_methods_are_counted_as_other_and_add_no_series(client, db):
    for method in ("FOO", "BAR", "PROPFIND", "get"):
        client.generic(method, "/healthz", REMOTE_ADDR="203.0.113.9")
    text = client.get("/metrics").content.decode()
    assert 'method="other"' in text
    for method in ("FOO", "BAR", "PROPFIND", "get"):
        assert f'method="{method}"' not in text


# --- e-mail backend in production ---------------------------------------------------------------


@pytest.mark.parametrize("debug, backend, chosen, refused", [
    (False, "django.core.mail.backends.console.EmailBackend", False, True),  # the default, in production
    (False, "django.core.mail.backends.console.EmailBackend", True, False),  # named on purpose
    (False, "django.core.mail.backends.smtp.EmailBackend", True, False),
    (True, "django.core.mail.backends.console.EmailBackend", False, False),  # development
])
def test_production_refuses_the_console_email_backend_unless_chosen(settings, debug, backend, chosen, refused):
    from django.core.checks import run_checks

    settings.DEBUG, settings.EMAIL_BACKEND, settings.EMAIL_BACKEND_CHOSEN = debug, backend, chosen
    errors = [e for e in run_checks() if e.id == "closeloop.E001"]
    assert len(errors) == (1 if refused else 0)
    if refused:
        assert "printed into the logs" in errors[0].msg and "EMAIL_BACKEND=" in errors[0].hint


def test_make_runs_web_server_logs_with_productions_gunicorn_settings():
    from config import embedded

    assert f"-c {ROOT / 'config' / 'gunicorn.py'} " in embedded.web_command("gunicorn", "8000")


# --- no query strings or link tokens in any log format -------------------------------------------

TOKEN = "MTIz:1vXyZa:Secret-Link-Token_abc123"
PATH = f"/r/{TOKEN}/"
QUERY = "token=query-secret-987&q=Ada+Lovelace"


def _gunicorn_access_line(tmp_path, access_format: str | None) -> str:
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    from config.gunicorn_logging import RedactingLogger

    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    if access_format:
        cfg.set("access_log_format", access_format)
    logger = RedactingLogger(cfg)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"{PATH}?{QUERY}", "PATH_INFO": PATH, "QUERY_STRING": QUERY,
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
               "HTTP_REFERER": f"https://closeloop.example.com{PATH}?{QUERY}", "HTTP_USER_AGENT": "test"}
    response = SimpleNamespace(status="400 Bad Request", headers=[("X-Request-ID", "rid-1")], sent=12)
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    logger.access(response, request, environ, timedelta(milliseconds=5))
    for handler in logger.access_log.handlers:
        handler.flush()
    return (tmp_path / "access.log").read_text()


@pytest.mark.parametrize("access_format", [
    None,  # gunicorn's default (combined: request line with the query, referer)
    '%(h)s "%(r)s" %(s)s %(f)s %(q)s %({referer}i)s',
    "production",
])
def test_the_gunicorn_access_log_keeps_no_query_string_or_link_token(tmp_path, access_format):
    from config import gunicorn as gunicorn_settings

    if access_format == "production":
        access_format = gunicorn_settings.access_log_format
        assert gunicorn_settings.logger_class == "config.gunicorn_logging.RedactingLogger"
    line = _gunicorn_access_line(tmp_path, access_format)
    assert "/r/[redacted]/" in line or "[redacted]" in line, line
    for secret in ("Secret-Link-Token", "query-secret-987", "Ada"):
        assert secret not in line, line


def test_the_request_log_keeps_no_query_string_or_link_token(client, db):
    """Django's request logging ("Bad Request: /r/<token>/") through the production JSON handler."""
    import io
    import json
    import logging

    from django.conf import settings
    from pythonjsonlogger.json import JsonFormatter

    from core.logging import ContextFilter, RedactingFilter

    options = {k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"}
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter(**options))
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        assert client.get(f"{PATH}?{QUERY}").status_code == 400
        logging.getLogger("closeloop.test").warning("followed %s", f"https://x.example{PATH}?{QUERY}")
    finally:
        root.removeHandler(handler)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    text = json.dumps(lines)
    assert any("Bad Request" in line["message"] for line in lines), text
    for secret in ("Secret-Link-Token", "query-secret-987", "Ada"):
        assert secret not in text, text
