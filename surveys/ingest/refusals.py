"""Refused deliveries: every 4xx the webhook doors answer is counted, and a sample is kept for the
delivery console (surveys.models.RefusedDelivery), so an admin sees why a tool's deliveries fail.

- Counting: every refusal, per source and reason, in Redis (surveys.stats; /metrics reads it).
- Keeping: one row per (requested slug, reason, sender address) per WINDOW_SECONDS, and at most
  MAX_ROWS_PER_SECOND rows a second per process whatever the senders, so a flood of 401s costs
  the database a few INSERTs a second, not one per request. The window is shared between
  processes through Redis (SET NX); should Redis be down, each process still keeps its own bound.
  The rows of a slug are pruned to the newest RefusedDelivery.KEEP_PER_SOURCE (here, now and
  then, and by the re-drive beat task).
- What is kept of the body: an excerpt, EXCERPT_CHARS for a body whose signature was never
  checked or failed, SIGNED_EXCERPT_CHARS for a signed one refused later (unreadable, rate
  limited), with characters PostgreSQL text cannot hold replaced.

Both doors call `refused()` (the Django view in its request thread) or `refused_async()` (the
ingest server: counting on the event loop's Redis client, the rare INSERT in a thread). Nothing
here may fail a request: any error is logged and the refusal answered all the same.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from surveys import stats
from surveys.models import RefusedDelivery, WebhookSource

logger = logging.getLogger("surveys.webhooks")

EXCERPT_CHARS = 200
SIGNED_EXCERPT_CHARS = 2000
MAX_ROWS_PER_SECOND = 5
PRUNE_EVERY = 50  # rows inserted by a process between two prunes of a slug


def window_seconds() -> int:
    """One row per (slug, reason, sender) per this many seconds (settings.WEBHOOK_REFUSAL_WINDOW_SECONDS)."""
    return settings.WEBHOOK_REFUSAL_WINDOW_SECONDS


class _Sampler:
    """This process's share of the sampling: the last row kept per key, and a per-second budget."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last: dict[tuple, float] = {}
        self._second = 0
        self._spent = 0
        self.inserted = 0

    def due(self, key: tuple, now: float) -> bool:
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < window_seconds():
                return False
            if int(now) != self._second:
                self._second, self._spent = int(now), 0
            if self._spent >= MAX_ROWS_PER_SECOND:
                return False
            self._spent += 1
            if len(self._last) > 10_000:  # many senders: forget, the per-second budget still holds
                self._last.clear()
            self._last[key] = now
            return True

    def forget(self) -> None:
        with self._lock:
            self._last.clear()
            self._spent = 0


sampler = _Sampler()


def refused(answer, slug: str, headers: dict, body: bytes | None, sender: str) -> None:
    """Count a refusal and keep a sample of it (the Django view; any blocking caller)."""
    source_slug, reason = answer.rejected
    stats.record_rejection(source_slug, reason)
    if sampler.due((slug, reason, sender), time.time()):
        keep(answer, slug, headers, body, sender)


async def refused_async(answer, slug: str, headers: dict, body: bytes | None, sender: str, in_thread) -> None:
    """`refused()` for the ingest server's event loop: the count on the loop's Redis client; the
    sampled row (rare) through `in_thread`, the door's blocking-work threads."""
    source_slug, reason = answer.rejected
    await stats.record_rejection_async(source_slug, reason)
    if sampler.due((slug, reason, sender), time.time()):
        await in_thread(keep, answer, slug, headers, body, sender)


def keep(answer, slug: str, headers: dict, body: bytes | None, sender: str) -> RefusedDelivery | None:
    """Store the row (unless another process kept one for this key within the window)."""
    _source_slug, reason = answer.rejected
    try:
        if not _claim_window(slug, reason, sender):
            return None
        row = RefusedDelivery.objects.create(**refusal_fields(answer, slug, headers, body, sender))
        sampler.inserted += 1
        if sampler.inserted % PRUNE_EVERY == 0:
            refusals_prune(slug=slug)
        return row
    except Exception as exc:  # noqa: BLE001 - the count is in Redis and the log; the sender has its answer
        logger.warning("refused delivery not kept: %s", exc)
        return None


def _claim_window(slug: str, reason: str, sender: str) -> bool:
    key = cache.make_key(f"surveys:refusal:{slug}:{reason}:{sender}")
    try:
        return bool(stats.redis_client().set(key, b"1", nx=True, ex=max(window_seconds(), 1)))
    except Exception as exc:  # noqa: BLE001 - Redis down: this process's own sampling still bounds the rows
        logger.warning("refusal window unavailable: %s", exc)
        return True


def refusal_fields(answer, slug: str, headers: dict, body: bytes | None, sender: str) -> dict:
    """The columns of a RefusedDelivery for this refusal."""
    try:
        declared = int(headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    limit = SIGNED_EXCERPT_CHARS if answer.signed else EXCERPT_CHARS
    excerpt = ""
    if body:
        excerpt = storable_text(body[:limit * 4].decode("utf-8", "replace"))[:limit]
    message = (answer.body or {}).get("error", "") if isinstance(answer.body, dict) else ""
    return {
        "source": WebhookSource.objects.filter(slug=slug[:60]).first(), "slug": storable_text(slug)[:100],
        "reason": answer.rejected[1], "status": answer.status, "message": storable_text(message)[:255],
        "detail": storable_text(answer.detail)[:2000], "received_at": timezone.now(),
        "size": len(body) if body is not None else max(declared, 0),
        "sender": storable_text(sender)[:64], "user_agent": storable_text(headers.get("user-agent", ""))[:255],
        "content_type": storable_text(headers.get("content-type", ""))[:255], "excerpt": excerpt,
    }


def storable_text(text: str) -> str:
    """`text` as PostgreSQL text can hold it: NUL and lone surrogates become U+FFFD."""
    if text.isascii():
        return text.replace("\x00", "\ufffd")
    return text.replace("\x00", "\ufffd").encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def refusals_prune(*, slug: str | None = None, keep_per_source: int = RefusedDelivery.KEEP_PER_SOURCE) -> int:
    """Delete all but the newest `keep_per_source` refusals of `slug` (of every slug when None);
    returns how many went."""
    table = connection.ops.quote_name(RefusedDelivery._meta.db_table)
    where, params = ("WHERE slug = %s", [slug]) if slug is not None else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER "
            f"(PARTITION BY slug ORDER BY received_at DESC, id DESC) AS n FROM {table} {where}) AS ranked "
            f"WHERE n > %s)", [*params, keep_per_source])
        return cursor.rowcount


def sender_address(remote_addr: str, forwarded_for: str) -> str:
    """The sender's address as accounts.backends.client_ip decides it: behind our TLS proxy
    (BEHIND_TLS_PROXY) the address that proxy appended last to X-Forwarded-For, else the peer."""
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = [part.strip() for part in (forwarded_for or "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return remote_addr or ""
