"""The decisions of `POST|HEAD /webhooks/<slug>/`, free of any web framework.

`check()` takes what a request carries (method, slug, lower-case headers, the query string and
a way to read the body) and returns an `Answer` (a refusal, or HEAD's answer) or the `Verified`
delivery to store. Both doors run it and add nothing to the decisions: the Django view
(surveys.ingest.django_view) and the ingest server (surveys.ingest.asgi). After it each door
applies the per-source rate limit (`RATE_LIMITED`, from surveys.stats), stores the delivery
(surveys.ingest.store) and answers `stored()`; a database it cannot reach is `unavailable()`.

Order of checks: unknown/inactive source 404; body over the limit 413; content type the vendor
never sends 415; signature over the raw bytes 401 (re-checked against the row as it is now when
a cached copy fails: a rotated secret works at once); unparseable body 400; per-source rate
limit 429; then the delivery is committed (202, or 200 with the original for a repeated delivery
id). PostgreSQL unreachable answers 503 so the sender retries. Never a redirect, never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.conf import settings
from django.utils import timezone

from surveys import stats
from surveys.adapters import PayloadError, SignatureError, get_adapter, parse_body
from surveys.adapters.common import FORM_TYPE, MULTIPART_TYPE, body_hash, media_type
from surveys.selectors import active_webhook_source, cached_webhook_source, fresh_webhook_source

logger = logging.getLogger("surveys.webhooks")

JSON = "application/json"
NOT_FOUND = "No active webhook source with this address."
INSECURE = "Webhooks are accepted over HTTPS only: change this webhook's URL to start with https://."


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict | None = None  # None: no body (HEAD)
    headers: tuple[tuple[str, str], ...] = ()
    rejected: tuple[str, str] | None = None  # (source slug or "_unknown", reason): a rejected attempt to count
    detail: str = ""  # for the console (surveys.ingest.refusals), never for the sender: why exactly
    signed: bool = False  # the refused body passed the signature check (more of it is kept for the console)


@dataclass(frozen=True, slots=True)
class Verified:
    """A delivery that passed every check: what to store."""

    source: object
    delivery_id: str
    content_type: str
    headers: dict
    body: bytes


class NeedsIO(Exception):
    """`check(blocking=False)` would have to read the database: run it again with blocking=True
    where that may block (the ASGI front door does so in a thread)."""


RATE_LIMITED = Answer(429, {"error": "Too many deliveries for this source; retry shortly."}, (("Retry-After", "1"),),
                      detail="Over the source's rate limit (deliveries per second).", signed=True)


def stored(pk: int, delivery_id: str, created: bool) -> Answer:
    """202 for a new delivery, 200 with the original's id for a repeated one."""
    body = {"status": "accepted" if created else "duplicate", "id": pk, "delivery_id": delivery_id}
    return Answer(202 if created else 200, body)


def check(method: str, slug: str, headers: dict[str, str], query_string: str,
          read_body: Callable[[int], bytes | None], secure: bool = True, *, blocking: bool = True) -> Answer | Verified:
    """Every decision before the delivery is stored: an `Answer` (a refusal, or HEAD's answer), or
    the `Verified` delivery to store. `headers` has lower-case names (content-type and
    content-length included, as both doors build them); `read_body(declared_length)`
    returns the raw bytes, or None when the door refused to read that many. `secure`: it
    came over HTTPS. With `blocking=False` it raises NeedsIO instead of reading the database
    (a source not cached, a cache due for its version check, a secret to reload).

    Where HTTPS is required (SECURE_SSL_REDIRECT), a plain-HTTP delivery is refused with a 403
    that says to change the URL, never redirected: senders do not follow a redirect with their
    POST, and a secret in a query string or header must not travel in clear text."""
    if settings.SECURE_SSL_REDIRECT and not secure:
        return _reject(slug, "insecure", 403, INSECURE)
    if method == "HEAD":
        # SurveyMonkey checks a subscription URL with a HEAD request before it saves the webhook.
        found, _cached = _source(slug, blocking)
        return Answer(200 if found is not None else 404)
    if method != "POST":
        return Answer(405, {"error": "Only POST is accepted here."}, (("Allow", "POST, HEAD"),))
    source, cached = _source(slug, blocking)  # no query once this process has served the slug
    if source is None:
        return _reject(stats.UNKNOWN_SOURCE, "not_found", 404, NOT_FOUND)
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _reject(slug, "too_large", 413, f"Body over {limit} bytes.")
    body = read_body(max(declared, 0))  # the raw bytes, read before anything looks at the content type
    if body is None or len(body) > limit:
        return _reject(slug, "too_large", 413, f"Body over {limit} bytes.")
    adapter = get_adapter(source.vendor)
    content_type = headers.get("content-type", "") or JSON
    if not adapter.accepts(media_type(content_type)):
        return _reject(slug, "content_type", 415, f"Unsupported content type {media_type(content_type)!r}: "
                       f"send {_accepted(adapter)}, with a Content-Type header that says so.")
    token = query_token(query_string)
    if token is not None:
        headers = {**headers, "x-query-token": token}
    try:
        source = _verified_source(adapter, source, cached, slug, body, headers, blocking)
    except SignatureError as exc:
        logger.warning("webhook signature rejected", extra={"source": slug, "why": str(exc)})
        return _reject(slug, "signature", 401, "Missing or invalid signature.", detail=str(exc))
    if source is None:  # deactivated or deleted since this process cached it
        return _reject(stats.UNKNOWN_SOURCE, "not_found", 404, NOT_FOUND)
    headers.pop("x-query-token", None)
    try:
        payload = parse_body(body, content_type)
    except PayloadError as exc:
        return _reject(slug, "malformed", 400, str(exc), signed=True)
    if not isinstance(payload, (dict, list)):
        return _reject(slug, "malformed", 400, f"The body is a JSON {_json_kind(payload)}: a survey delivery is a "
                       "JSON object (or form fields).", signed=True)
    try:
        delivery_id = adapter.delivery_id(source, body, headers, payload) or body_hash(body)
    except Exception as exc:  # noqa: BLE001 - an adapter surprised by the payload's shape: the worker says why
        logger.warning("delivery id not found (%s: %s); using the body's hash", exc.__class__.__name__, exc)
        delivery_id = body_hash(body)
    return Verified(source, delivery_id, content_type, headers, body)


def _json_kind(value) -> str:
    return {bool: "boolean", int: "number", float: "number", str: "string"}.get(type(value), "null")


def _accepted(adapter) -> str:
    """The body types a vendor's adapter takes, in words (for a 415)."""
    kinds = [name for media, name in (("application/json", "JSON"), (FORM_TYPE, "form fields"),
                                      (MULTIPART_TYPE, "multipart form data")) if adapter.accepts(media)]
    return " or ".join(kinds) or "the body type this tool documents"


def _source(slug: str, blocking: bool):
    if blocking:
        return active_webhook_source(slug)
    source = cached_webhook_source(slug)
    if source is None:
        raise NeedsIO(slug)
    return source, True


def _verified_source(adapter, source, cached: bool, slug: str, body: bytes, headers: dict, blocking: bool = True):
    """Verify against the source; when that fails against a cached copy, against the row as it
    is now (its secret may have been rotated a moment ago in another process). Returns the
    source that verified, None if it is gone, or raises SignatureError."""
    try:
        _verify(adapter, source, body, headers)
        return source
    except SignatureError:
        if not cached:
            raise
    if not blocking:
        raise NeedsIO(slug)
    fresh = fresh_webhook_source(slug)
    if fresh is None:
        return None
    if fresh.vendor != source.vendor:
        adapter = get_adapter(fresh.vendor)
    _verify(adapter, fresh, body, headers)
    return fresh


def _verify(adapter, source, body: bytes, headers: dict) -> None:
    """The adapter's check; anything it raises on a request it did not expect (a header it cannot
    read) is a failed signature too, never an error the sender would retry forever."""
    try:
        adapter.verify(source, body, headers, timezone.now())
    except SignatureError:
        raise
    except Exception as exc:  # noqa: BLE001 - verify is pure: no database or network error can come from it
        raise SignatureError(f"the signature could not be checked ({exc.__class__.__name__}: {exc})") from None


def _reject(slug: str, reason: str, status: int, message: str, headers: tuple = (), *, detail: str = "",
            signed: bool = False) -> Answer:
    return Answer(status, {"error": message}, headers, rejected=(slug, reason), detail=detail, signed=signed)


def unstorable(slug: str, exc: Exception) -> Answer:
    """The database refused the delivery's data (a DataError: a value it cannot hold). Retrying
    the same bytes cannot help, so the answer is a 400 that says so, never a 503."""
    logger.warning("webhook delivery unstorable: %s", exc)
    return _reject(slug, "unstorable", 400, "This delivery cannot be stored as sent: "
                   f"{str(exc).splitlines()[0][:200]}", detail=str(exc)[:500], signed=True)


def unavailable(exc: Exception) -> Answer:
    logger.error("webhook store unavailable: %s", exc.__class__.__name__)
    return Answer(503, {"error": "Temporarily unavailable; please retry."}, (("Retry-After", "30"),))


def query_token(query_string: str) -> str | None:
    """`?token=` (the last one, as Django's QueryDict answers), for tools that can only sign the URL."""
    if "token" not in query_string:
        return None
    values = [v for k, v in parse_qsl(query_string, keep_blank_values=True, errors="replace") if k == "token"]
    return values[-1] if values else None
