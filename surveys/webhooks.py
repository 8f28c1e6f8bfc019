"""POST /webhooks/<slug>/: verify, store, answer. Nothing else happens inside the request.

Order of checks: unknown/inactive source 404; body over the limit 413; content type the vendor
never sends 415; signature over the raw bytes 401; unparseable body 400; per-source rate limit
429; then the delivery is committed (202, or 200 with the original for a repeated delivery id).
PostgreSQL unreachable answers 503 so the sender retries. Never a redirect, never a 500."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from surveys import stats
from surveys.adapters import PayloadError, SignatureError, get_adapter, parse_body
from surveys.adapters.common import body_hash, media_type
from surveys.models import WebhookSource
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
def webhook_receive(request, slug: str):
    if request.method == "HEAD":
        # SurveyMonkey checks a subscription URL with a HEAD request before it saves the webhook.
        try:
            found = WebhookSource.objects.filter(slug=slug, active=True).exists()
        except DatabaseError as exc:
            return _unavailable(exc)
        return HttpResponse(status=200 if found else 404)
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
    source = WebhookSource.objects.filter(slug=slug, active=True).first()
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
        adapter.verify(source, body, headers, timezone.now())
    except SignatureError as exc:
        logger.warning("webhook signature rejected", extra={"source": slug, "why": str(exc)})
        return _reject(slug, "signature", 401, "Missing or invalid signature.")
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
