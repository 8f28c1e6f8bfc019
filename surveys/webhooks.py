"""POST /webhooks/<slug>/: verify, store, answer. Nothing else happens inside the request.

Order of checks: unknown/inactive source 404; body over the limit 413; content type the vendor
never sends 415; signature over the raw bytes 401; unparseable body 400; per-source rate limit
429; then the delivery is committed (202, or 200 with the original for a repeated delivery id).
PostgreSQL unreachable answers 503 so the sender retries. Never a redirect, never a 500."""

from __future__ import annotations

import logging
import time

from csp.decorators import csp_exempt
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from surveys import stats
from surveys.adapters import PayloadError, SignatureError, get_adapter, parse_body
from surveys.adapters.common import body_hash, media_type
from surveys.selectors import active_webhook_source, fresh_webhook_source
from surveys.services import delivery_store

logger = logging.getLogger("surveys.webhooks")


def _reject(slug: str, reason: str, status: int, message: str, **headers) -> JsonResponse:
    stats.record_rejection(slug, reason)
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _unavailable(exc: Exception) -> JsonResponse:
    logger.error("webhook store unavailable: %s", exc.__class__.__name__)
    response = JsonResponse({"error": "Temporarily unavailable; please retry."}, status=503)
    response["Retry-After"] = "30"
    return response


@csrf_exempt
@csp_exempt()  # a JSON answer to a machine: no page to protect, no policy to build per request
def webhook_receive(request, slug: str):
    if request.method == "HEAD":
        # SurveyMonkey checks a subscription URL with a HEAD request before it saves the webhook.
        try:
            found, _cached = active_webhook_source(slug)
        except DatabaseError as exc:
            return _unavailable(exc)
        return HttpResponse(status=200 if found is not None else 404)
    if request.method != "POST":
        response = JsonResponse({"error": "Only POST is accepted here."}, status=405)
        response["Allow"] = "POST, HEAD"
        return response
    try:
        return _receive(request, slug)
    except DatabaseError as exc:  # OperationalError, InterfaceError: the database is unreachable
        return _unavailable(exc)
    except Exception as exc:  # never a 500 to a sender: it retries and the delivery is not lost
        logger.exception("webhook receive failed")
        return _unavailable(exc)


def _receive(request, slug: str) -> JsonResponse:
    source, cached = active_webhook_source(slug)  # no query once this process has served the slug
    if source is None:
        return _reject(stats.UNKNOWN_SOURCE, "not_found", 404, "No active webhook source with this address.")
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _reject(slug, "too_large", 413, f"Body over {limit} bytes.")
    try:
        body = request.body  # the raw bytes, read before anything looks at the content type
    except RequestDataTooBig:
        return _reject(slug, "too_large", 413, f"Body over {limit} bytes.")
    if len(body) > limit:
        return _reject(slug, "too_large", 413, f"Body over {limit} bytes.")
    adapter = get_adapter(source.vendor)
    content_type = request.META.get("CONTENT_TYPE", "") or "application/json"
    if not adapter.accepts(media_type(content_type)):
        return _reject(slug, "content_type", 415, f"Unsupported content type {media_type(content_type)!r}.")
    headers = {k.lower(): v for k, v in request.headers.items()}
    if "token" in request.GET:
        headers["x-query-token"] = request.GET["token"]
    try:
        source = _verified_source(adapter, source, cached, slug, body, headers)
    except SignatureError as exc:
        logger.warning("webhook signature rejected", extra={"source": slug, "why": str(exc)})
        return _reject(slug, "signature", 401, "Missing or invalid signature.")
    if source is None:  # deactivated or deleted since this process cached it
        return _reject(stats.UNKNOWN_SOURCE, "not_found", 404, "No active webhook source with this address.")
    headers.pop("x-query-token", None)
    try:
        payload = parse_body(body, content_type)
    except PayloadError as exc:
        return _reject(slug, "malformed", 400, str(exc))
    delivery_id = adapter.delivery_id(source, body, headers, payload) or body_hash(body)
    if stats.rate_limited(slug, source.rate_limit_per_second, time.time()):
        return _reject(slug, "rate_limited", 429, "Too many deliveries for this source; retry shortly.", Retry_After="1")
    delivery, created = delivery_store(
        source=source, delivery_id=delivery_id, content_type=content_type, headers=headers, body=body
    )
    body_out = {"status": "accepted" if created else "duplicate", "id": delivery.pk, "delivery_id": delivery.delivery_id}
    return JsonResponse(body_out, status=202 if created else 200)


def _verified_source(adapter, source, cached: bool, slug: str, body: bytes, headers: dict):
    """Verify against the source; when that fails against a cached copy, against the row as it
    is now (its secret may have been rotated a moment ago in another process). Returns the
    source that verified, None if it is gone, or raises SignatureError."""
    try:
        adapter.verify(source, body, headers, timezone.now())
        return source
    except SignatureError:
        if not cached:
            raise
    fresh = fresh_webhook_source(slug)
    if fresh is None:
        return None
    if fresh.vendor != source.vendor:
        adapter = get_adapter(fresh.vendor)
    adapter.verify(fresh, body, headers, timezone.now())
    return fresh
