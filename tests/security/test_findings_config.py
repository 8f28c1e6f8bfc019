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
