"""Reads for the surveys stage, scoped by accounts.selectors (the one visibility rule)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, Min, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from accounts.selectors import scope_by_team, visible_team_ids
from surveys.models import Customer, SurveyResponse, WebhookDelivery, WebhookSource

logger = logging.getLogger(__name__)


def oldest_pending_delivery_age() -> float:
    """Seconds since the oldest delivery still pending or processing arrived (0 when none)."""
    oldest = WebhookDelivery.objects.filter(
        status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.PROCESSING]
    ).aggregate(oldest=Min("received_at"))["oldest"]
    return (timezone.now() - oldest).total_seconds() if oldest else 0.0


def response_list_for_user(user) -> QuerySet[SurveyResponse]:
    """Responses whose team the user may see (admins: all)."""
    queryset = SurveyResponse.objects.select_related("source", "survey", "customer", "team")
    return scope_by_team(queryset, user)


def customer_list_for_user(user) -> QuerySet[Customer]:
    """Customers with at least one visible response, each with its visible responses prefetched."""
    visible = response_list_for_user(user).order_by("-answered_at")
    queryset = Customer.objects.all()
    if visible_team_ids(user) is not None:
        queryset = queryset.filter(Exists(visible.filter(customer=OuterRef("pk"))))
    return queryset.prefetch_related(Prefetch("responses", queryset=visible, to_attr="visible_responses"))


# --- the webhook source cache -----------------------------------------------------------------
#
# Every web process keeps the active sources it has served in memory, keyed by slug, together
# with the version token it loaded them under; the webhook view then answers without a query
# for the source. A change to any WebhookSource (post_save, post_delete: surveys.receivers)
# empties this process's copy at once and writes a new token to the shared Redis cache, again
# after the transaction commits. Other processes compare the token at most once every
# WEBHOOK_SOURCE_CHECK_SECONDS (default 2 s; 0 in tests: every request), so a deactivated or
# deleted source stops accepting everywhere within that interval. A rotated secret never
# waits for it: when a signature does not verify against a cached source, the view reloads
# the source from the database and verifies once more (`fresh_webhook_source`). A slug that is
# not cached is always looked up in the database (new sources work at once; misses are not
# cached, so an unknown slug costs one indexed query). If Redis is unreachable the version
# check fails closed: the source is read from the database on every request.

SOURCE_VERSION_KEY = "surveys:webhook_sources:version"


@dataclass
class _SourceCache:
    token: str | None = None
    checked_at: float = float("-inf")
    sources: dict = field(default_factory=dict)


_source_cache = _SourceCache()
_source_lock = threading.Lock()


def _source_token() -> str | None:
    try:
        token = cache.get(SOURCE_VERSION_KEY)
        if token is None:
            cache.add(SOURCE_VERSION_KEY, uuid.uuid4().hex, timeout=None)
            token = cache.get(SOURCE_VERSION_KEY)
        return token
    except Exception as exc:  # fall back to the database, never to a stale source
        logger.warning("webhook source cache version unavailable (%s); reading sources from the database", exc)
        return None


def _load_source(slug: str) -> WebhookSource | None:
    return WebhookSource.objects.filter(slug=slug, active=True).first()


def active_webhook_source(slug: str) -> tuple[WebhookSource | None, bool]:
    """The active source with this slug and whether it came from this process's cache."""
    global _source_cache
    now = time.monotonic()
    interval = getattr(settings, "WEBHOOK_SOURCE_CHECK_SECONDS", 2)
    current = _source_cache
    if not interval or now - current.checked_at >= interval:
        token = _source_token()
        if token is None or token != current.token:
            current = _SourceCache(token=token, checked_at=now)
        else:
            current = _SourceCache(token=token, checked_at=now, sources=current.sources)
        _source_cache = current
    if current.token is not None and (source := current.sources.get(slug)) is not None:
        return source, True
    source = _load_source(slug)
    if source is not None and current.token is not None:
        with _source_lock:
            if _source_cache is current:
                current.sources[slug] = source
    return source, False


def cached_webhook_source(slug: str) -> WebhookSource | None:
    """The source as `active_webhook_source` would answer it without any I/O: this process's
    copy while its version check is not due, else None (ask `active_webhook_source`)."""
    current = _source_cache
    interval = getattr(settings, "WEBHOOK_SOURCE_CHECK_SECONDS", 2)
    if current.token is None or not interval or time.monotonic() - current.checked_at >= interval:
        return None
    return current.sources.get(slug)


def fresh_webhook_source(slug: str) -> WebhookSource | None:
    """Reload one source from the database (after a signature failure against a cached copy)."""
    source = _load_source(slug)
    with _source_lock:
        if source is None:
            _source_cache.sources.pop(slug, None)
        elif _source_cache.token is not None:
            _source_cache.sources[slug] = source
    return source


def webhook_sources_changed() -> None:
    """Call after any change to webhook sources: this process forgets them now, the others on
    their next version check. Writes that bypass model signals (QuerySet.update) must call it."""
    _forget_sources()
    transaction.on_commit(_forget_sources)


def _forget_sources() -> None:
    global _source_cache
    _source_cache = _SourceCache()
    try:
        cache.set(SOURCE_VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception as exc:
        logger.warning("could not publish a webhook source change to the cache (%s)", exc)
