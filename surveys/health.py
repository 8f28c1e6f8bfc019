"""`/readyz`: ready to take traffic when the database and broker answer and the re-drive keeps up."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.health import basic_checks, describe
from surveys.selectors import oldest_pending_delivery_age

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def readyz(request):
    """The oldest unprocessed delivery must be younger than READYZ_MAX_PENDING_AGE_SECONDS.
    503 names what failed."""
    checks = basic_checks()
    body: dict = {"checks": describe(checks)}
    failed = [name for name, error in checks.items() if error]
    limit = settings.READYZ_MAX_PENDING_AGE_SECONDS
    if checks["database"] is None:
        age = round(oldest_pending_delivery_age(), 1)
        body["oldest_pending_delivery_age_seconds"] = age
        body["max_pending_age_seconds"] = limit
        ok = age <= limit
        body["checks"]["deliveries"] = "ok" if ok else f"oldest pending delivery is {age:.0f}s old (limit {limit}s)"
        if not ok:
            failed.append("deliveries")
    body["status"] = "ready" if not failed else "not ready"
    if failed:
        body["failed"] = failed
        logger.warning("readiness check failed", extra={"failed": failed})
    return JsonResponse(body, status=503 if failed else 200)
