"""Liveness and readiness: whether the database and the broker answer.

`/healthz` is answered here; `/readyz` (surveys.health) adds the age of the oldest unprocessed
delivery, which only the surveys app knows about."""

from __future__ import annotations

import logging

from celery import current_app
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def check_database() -> str | None:
    """None when a `SELECT 1` goes through, else the error's class name."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not reachable" to an operator
        return type(exc).__name__
    return None


def check_broker() -> str | None:
    """None when the Celery broker opens a channel (a real round trip), else the error's class name."""
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=2)
            conn.default_channel  # noqa: B018  (opens the channel: a real round trip)
    except Exception as exc:
        return type(exc).__name__
    return None


def basic_checks() -> dict[str, str | None]:
    return {"database": check_database(), "broker": check_broker()}


def describe(checks: dict[str, str | None]) -> dict[str, str]:
    return {name: ("ok" if error is None else f"unreachable ({error})") for name, error in checks.items()}


@never_cache
@require_GET
def healthz(request):
    """Alive and able to reach its dependencies: 200, or 503 naming what failed."""
    checks = basic_checks()
    failed = [name for name, error in checks.items() if error]
    body = {"status": "ok" if not failed else "unavailable", "checks": describe(checks)}
    if failed:
        body["failed"] = failed
        logger.warning("health check failed", extra={"failed": failed})
    return JsonResponse(body, status=503 if failed else 200)
