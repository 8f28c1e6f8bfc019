"""Fetching a thin webhook's response (and its survey's definition) from the vendor's API, only
ever inside the worker, never inside the request that accepted the delivery.

An adapter's `fetch_request(source, payload)` says what to GET: one FetchRequest or several
(the response, then the survey definition it needs to know which answer is the NPS question and
its scale). Every fetching preset takes the base URL and the credential from `source.auth`
(`api_base`, `api_token`); the adapter puts them in the request.

Failures, as `surveys.services.deliveries.delivery_fail_or_retry` reads them:
- TransientError (the network, a timeout, 408, 429, 5xx, a body that is not JSON): the delivery
  is retried later with exponential backoff (WEBHOOK_RETRY_BASE_SECONDS * 2^attempt, up to
  WEBHOOK_MAX_ATTEMPTS), so a vendor outage never loses a delivery and never blocks a worker.
- MappingError (any other 4xx): the delivery fails with the vendor's own message, parsed from its
  JSON error body, so a person sees "Qualtrics answered 401: Invalid API token" and fixes the
  token, then replays.

A definition request carries a cache_key: its answer is kept in the Django cache (Redis) for
`cache_seconds` (default VENDOR_DEFINITION_CACHE_SECONDS, 6 hours), so the second response of
a survey costs one API call, not two.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache

from core import outbound
from surveys.adapters import FetchRequest, MappingError

TIMEOUT_SECONDS = (3.05, 15)
MAX_BYTES = 5_000_000  # a survey definition with many questions stays far below
DEFAULT_DEFINITION_SECONDS = 6 * 3600
CACHE_PREFIX = "vendor-api:"


class TransientError(Exception):
    """Worth retrying later: the vendor or the network is having a bad moment."""


def fetch(plan: FetchRequest | Iterable[FetchRequest]) -> dict:
    """What the vendor API returned, keyed by each request's `key` (e.g. {"response": ..., "survey": ...})."""
    plan = [plan] if isinstance(plan, FetchRequest) else list(plan)
    fetched: dict = {}
    for request in plan:
        if request.cache_key:
            cached = cache.get(CACHE_PREFIX + request.cache_key)
            if cached is not None:
                fetched[request.key] = cached
                continue
        fetched[request.key] = answer = get_json(request)
        if request.cache_key:
            seconds = request.cache_seconds or getattr(
                settings, "VENDOR_DEFINITION_CACHE_SECONDS", DEFAULT_DEFINITION_SECONDS)
            cache.set(CACHE_PREFIX + request.cache_key, answer, seconds)
    return fetched


def forget_definition(cache_key: str) -> None:
    cache.delete(CACHE_PREFIX + cache_key)


def get_json(request: FetchRequest):
    """GET one URL: its JSON, or TransientError / MappingError (see the module's docstring)."""
    try:  # core.outbound: no private addresses, https in production, bounded, redirects not followed
        reply = outbound.request("GET", request.url, headers=request.headers, params=request.params or None,
                                 timeout=TIMEOUT_SECONDS, max_bytes=MAX_BYTES)
    except outbound.OutboundUnavailable as exc:
        raise TransientError(f"Could not reach {_where(request.url)}: {exc}") from exc
    except outbound.OutboundError as exc:
        raise MappingError(f"The vendor API request was not made or not read: {exc}. Check the source's "
                           "api_base, then replay the delivery.") from exc
    status = reply.status
    if status in (408, 429) or status >= 500:
        raise TransientError(f"{_where(request.url)} answered {status}{_said(reply)}")
    if status >= 300:
        message = vendor_message(reply)
        hint = {401: "; check the source's API token (auth.api_token)",
                403: "; check the source's API token (auth.api_token) and its scopes",
                404: "; check the source's api_base (data centre) and that the survey still exists"}.get(status, "")
        raise MappingError(
            f"The vendor API refused the request: {_where(request.url)} answered {status}"
            f"{': ' + message if message else ''}{hint}. Replay the delivery once it is fixed.")
    try:
        return reply.json()
    except ValueError:
        raise TransientError(f"{_where(request.url)} answered something that is not JSON") from None


def vendor_message(reply) -> str:
    """The vendor's own error message from its JSON error body (each vendor nests it differently):
    Qualtrics {"meta": {"error": {"errorMessage"}}}, SurveyMonkey {"error": {"message"}},
    SurveySparrow and others {"message"} / {"error": "..."} / {"errors": [{"message"}]}. A body that
    is not JSON is never echoed (it may be anything the address answered)."""
    try:
        body = reply.json()
    except ValueError:
        return ""
    candidates = (("meta", "error", "errorMessage"), ("error", "message"), ("error", "errorMessage"),
                  ("errors", 0, "message"), ("errors", 0, "detail"), ("message",), ("error_description",),
                  ("error",), ("detail",), ("description",))
    for path in candidates:
        value = body
        for step in path:
            if isinstance(step, int) and isinstance(value, list) and len(value) > step:
                value = value[step]
            elif isinstance(step, str) and isinstance(value, dict) and step in value:
                value = value[step]
            else:
                value = None
                break
        if isinstance(value, str) and value.strip():
            return value.strip()[:300]
    return ""


def _said(reply) -> str:
    message = vendor_message(reply)
    return f" ({message})" if message else ""


def _where(url: str) -> str:
    return url.split("?", 1)[0]
