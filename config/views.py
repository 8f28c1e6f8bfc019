"""Operational endpoints that look across apps: /readyz and the API docs page."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import Min
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularSwaggerSplitView

from accounts.views import _check_broker, _check_database

logger = logging.getLogger(__name__)


def oldest_pending_delivery_age() -> float:
    """Seconds since the oldest delivery still pending or processing arrived (0 when none)."""
    from surveys.models import WebhookDelivery

    oldest = WebhookDelivery.objects.filter(
        status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.PROCESSING]
    ).aggregate(oldest=Min("received_at"))["oldest"]
    return (timezone.now() - oldest).total_seconds() if oldest else 0.0


@never_cache
@require_GET
def readyz(request):
    """Ready to take traffic: database and broker answer, and the re-drive keeps up (the oldest
    unprocessed delivery is younger than READYZ_MAX_PENDING_AGE_SECONDS). 503 names what failed."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    body: dict = {"checks": {n: ("ok" if e is None else f"unreachable ({e})") for n, e in checks.items()}}
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


# Swagger UI is served from our own static files (see SPECTACULAR_SETTINGS), so the site's strict
# policy holds; the split view serves its initializer as a file (no inline script).
api_docs = SpectacularSwaggerSplitView.as_view(url_name="schema")
