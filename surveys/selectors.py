"""Reads for the surveys stage, scoped by accounts.selectors (the one visibility rule)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import Min, QuerySet
from django.utils import timezone

from accounts.selectors import scope_by_team
from core.process_cache import KeyedProcessCache
from surveys.models import SurveyResponse, WebhookDelivery, WebhookSource

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


# --- the webhook source cache -----------------------------------------------------------------
#
# Every web process keeps the active sources it has served in memory, keyed by slug, together
# with the version token it loaded them under; the webhook view then answers without a query
# for the source (core.process_cache.KeyedProcessCache). A change to any WebhookSource (post_save, post_delete: surveys.receivers)
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


def _load_source(slug: str) -> WebhookSource | None:
    return WebhookSource.objects.filter(slug=slug, active=True).first()


_sources = KeyedProcessCache(SOURCE_VERSION_KEY, _load_source, what="webhook sources",
                             check_seconds=lambda: getattr(settings, "WEBHOOK_SOURCE_CHECK_SECONDS", 2))


def active_webhook_source(slug: str) -> tuple[WebhookSource | None, bool]:
    """The active source with this slug and whether it came from this process's cache."""
    return _sources.get(slug)


def cached_webhook_source(slug: str) -> WebhookSource | None:
    """The source as `active_webhook_source` would answer it without any I/O: this process's
    copy while its version check is not due, else None (ask `active_webhook_source`)."""
    return _sources.peek(slug)


def fresh_webhook_source(slug: str) -> WebhookSource | None:
    """Reload one source from the database (after a signature failure against a cached copy)."""
    return _sources.reload(slug)


def webhook_sources_changed() -> None:
    """Call after any change to webhook sources: this process forgets them now, the others on
    their next version check. Writes that bypass model signals (QuerySet.update) must call it."""
    _sources.changed()
