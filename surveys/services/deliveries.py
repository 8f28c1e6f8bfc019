"""A webhook delivery's row from stored to done: storing it, queueing it for a worker, claiming
it, running its vendor adapter, and failing, retrying, replaying or re-driving it. Recording what
it says is surveys.services.processing and .recording."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import (
    DatabaseError, IntegrityError, InterfaceError, InternalError, OperationalError, connection, transaction,
)
from django.db.models import Q
from django.utils import timezone

from core.queueing import enqueue
from surveys.adapters import FetchRequest, MappingError, PayloadError, get_adapter, parse_body
from surveys.models import FeedbackKind, WebhookDelivery, WebhookSource
from surveys.storable import storable_json
from surveys.services.recording import InvalidResponse

logger = logging.getLogger("surveys.webhooks")

def delivery_enqueue(delivery_pk: int, countdown: int = 0) -> None:
    """Hand a delivery to the worker; when the broker is down the re-drive sweep will do it later."""
    enqueue("surveys.tasks.process_delivery_task", delivery_pk, countdown=countdown,
            if_down="the re-drive will pick it up")


def delivery_normalize(delivery: WebhookDelivery, mapping: dict | None = None, fetched: dict | None = None):
    """Run the source's adapter over a stored delivery: NormalizedResponse or Ignored.

    Raises MappingError (a person must act) or PayloadError. Pure apart from reading the row."""
    source = delivery.source
    adapter = get_adapter(source.vendor)
    payload = parse_body(bytes(delivery.body), delivery.content_type)
    return adapter.normalize(
        payload, source.mapping if mapping is None else mapping, delivery.received_at,
        fetched=fetched if fetched is not None else delivery.fetched, source_name=source.name,
        fallback_response_id=delivery.delivery_id, unsolicited=FeedbackKind.unsolicited(source.feedback_kind),
    )


def delivery_fetch_request(delivery: WebhookDelivery) -> FetchRequest | tuple[FetchRequest, ...] | None:
    """What the worker must GET from the vendor's API to complete a thin webhook (None: nothing):
    one request, or several (the response, then its survey's definition, which is cached)."""
    adapter = get_adapter(delivery.source.vendor)
    return adapter.fetch_request(delivery.source, parse_body(bytes(delivery.body), delivery.content_type))


def deliveries_claim(delivery_pks: list[int]) -> list[int]:
    """Mark the due, pending rows among `delivery_pks` as processing, in one statement that says
    which it took: a row another worker claimed first is not returned."""
    if not delivery_pks:
        return []
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    placeholders = ", ".join(["%s"] * len(delivery_pks))
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, claimed_at = %s, attempts = attempts + 1 "
            f"WHERE id IN ({placeholders}) AND status = %s AND (not_before IS NULL OR not_before <= %s) RETURNING id",
            [WebhookDelivery.Status.PROCESSING, now, *delivery_pks, WebhookDelivery.Status.PENDING, now],
        )
        return [row[0] for row in cursor.fetchall()]


def deliveries_claim_more(limit: int) -> list[int]:
    """Claim up to `limit` due pending deliveries, oldest first, skipping rows being claimed by
    someone else (FOR UPDATE SKIP LOCKED; the partial index on unfinished rows serves it)."""
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, claimed_at = %s, attempts = attempts + 1 WHERE id IN ("
            f"SELECT id FROM {table} WHERE status = %s AND (not_before IS NULL OR not_before <= %s) "
            f"ORDER BY received_at LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id",
            [WebhookDelivery.Status.PROCESSING, now, WebhookDelivery.Status.PENDING, now, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def delivery_prepare(delivery: WebhookDelivery):
    """The delivery's normalized response (or Ignored), fetching a thin webhook's body first
    (surveys.vendor_api: transient failures raise TransientError and are retried with backoff,
    a 4xx raises MappingError with the vendor's message). What was fetched is kept on the row, so
    a replay after a mapping fix normalizes the same answers without calling the vendor again."""
    from surveys.vendor_api import fetch

    if delivery.fetched is None and (plan := delivery_fetch_request(delivery)) is not None:
        delivery.fetched = storable_json(fetch(plan))  # slow I/O outside any transaction; a NUL the vendor sent is replaced
        WebhookDelivery.objects.filter(pk=delivery.pk).update(fetched=delivery.fetched)
    return delivery_normalize(delivery)


def delivery_fail_or_retry(delivery: WebhookDelivery, exc: Exception) -> str:
    """Fail (a person must act) or retry (transient) a delivery whose processing raised `exc`.

    Only what can pass by itself is retried: the vendor's API having a bad moment, the database
    unreachable or busy (OperationalError, InterfaceError: a lost connection, a deadlock, a
    cancelled statement) and a lost race (a unique violation: the other writer's row is there on
    the next try). What the delivery's data causes (DataError, another IntegrityError, a
    ValueError, nesting too deep) fails at once with the reason: retrying the same data would
    fail the same way, as if the database were down, until the attempts ran out."""
    from surveys.vendor_api import TransientError

    if isinstance(exc, (MappingError, PayloadError, InvalidResponse)):
        delivery_fail(delivery.pk, str(exc))
        return WebhookDelivery.Status.FAILED
    if isinstance(exc, TransientError):
        return _delivery_retry(delivery, str(exc))
    if is_transient_database_error(exc):
        return _delivery_retry(delivery, f"database error: {exc}")
    reason = data_error_reason(exc)
    if reason is None:
        logger.error("delivery %s failed unexpectedly", delivery.pk, exc_info=exc)
        reason = f"Internal error ({exc.__class__.__name__}: {exc}); replay once it is fixed."
    delivery_fail(delivery.pk, reason)
    return WebhookDelivery.Status.FAILED


UNIQUE_VIOLATION = "23505"


def is_transient_database_error(exc: BaseException) -> bool:
    """An error of the database's state, not of the data: worth a retry with backoff."""
    import psycopg

    if isinstance(exc, (OperationalError, InterfaceError, InternalError, psycopg.OperationalError,
                        psycopg.InterfaceError, psycopg.InternalError)):
        return True
    if isinstance(exc, (IntegrityError, psycopg.IntegrityError)):
        return _sqlstate(exc) == UNIQUE_VIOLATION
    return False


def data_error_reason(exc: BaseException) -> str | None:
    """What to tell a person about an error the delivery's data caused (None: not such an error)."""
    first_line = (str(exc).strip().splitlines() or [""])[0][:300]
    what = f"{exc.__class__.__name__}: {first_line}"
    if isinstance(exc, RecursionError):
        return "The delivery's data is nested too deeply to process; have the sender flatten it, then replay."
    if isinstance(exc, DatabaseError) or exc.__class__.__module__.startswith("psycopg"):
        return (f"The database refused this delivery's data ({what}). Fix the sender's data or the source's "
                "mapping, then replay it.")
    if isinstance(exc, (ValueError, ArithmeticError)):  # UnicodeError, decimal.InvalidOperation, ...
        return (f"This delivery's data could not be turned into a response ({what}). Fix the sender's data or the "
                "source's mapping, then replay it.")
    return None


def _sqlstate(exc: BaseException) -> str | None:
    return getattr(exc, "sqlstate", None) or getattr(exc.__cause__, "sqlstate", None)


def delivery_fail(pk: int, reason: str) -> None:
    WebhookDelivery.objects.filter(pk=pk).update(
        status=WebhookDelivery.Status.FAILED, error=reason[:2000], processed_at=timezone.now(), not_before=None
    )


def _delivery_retry(delivery: WebhookDelivery, reason: str) -> str:
    attempts = delivery.attempts  # read after the claim, which counted this attempt
    if attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery_fail(delivery.pk, f"Gave up after {attempts} attempts: {reason}")
        return WebhookDelivery.Status.FAILED
    delay = min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1), 1800)
    WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PROCESSING).update(
        status=WebhookDelivery.Status.PENDING, error=f"Attempt {attempts} failed, retrying: {reason}"[:2000],
        not_before=timezone.now() + timedelta(seconds=delay),
    )
    transaction.on_commit(lambda: delivery_enqueue(delivery.pk, countdown=delay))
    return "retrying"


def delivery_replay(*, delivery: WebhookDelivery) -> bool:
    """Put a failed (or processed-but-ignored) delivery back in the queue; True when it was. Not
    one whose body was forgotten past retention (deliveries_forget_bodies): nothing to replay."""
    updated = WebhookDelivery.objects.filter(
        pk=delivery.pk, status__in=[WebhookDelivery.Status.FAILED, WebhookDelivery.Status.PROCESSED]
    ).exclude(body=b"").update(status=WebhookDelivery.Status.PENDING, error="", attempts=0, not_before=None, processed_at=None,
             replayed_at=timezone.now())
    if updated:
        transaction.on_commit(lambda: delivery_enqueue(delivery.pk))
    return bool(updated)


def deliveries_forget_bodies(*, received_before, batch: int = 5000) -> int:
    """Retention of raw bodies (WEBHOOK_BODY_RETENTION_DAYS): processed deliveries received before
    `received_before` keep their row (source, delivery id, status, response, times: the
    idempotency key and the record of what arrived when) but lose their body, headers and fetched
    payload, which hold the respondent's answers as the tool sent them. Failed and unfinished
    deliveries keep everything, so they can still be replayed. In batches; returns how many."""
    forgotten = 0
    while True:
        ids = list(WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PROCESSED, received_at__lt=received_before)
                   .exclude(body=b"").values_list("pk", flat=True)[:batch])
        if not ids:
            return forgotten
        forgotten += WebhookDelivery.objects.filter(pk__in=ids).update(body=b"", headers={}, fetched=None)


def deliveries_replay_failed(*, source: WebhookSource) -> int:
    ids = list(source.deliveries.filter(status=WebhookDelivery.Status.FAILED).values_list("pk", flat=True)[:5000])
    WebhookDelivery.objects.filter(pk__in=ids, status=WebhookDelivery.Status.FAILED).update(
        status=WebhookDelivery.Status.PENDING, error="", attempts=0, not_before=None, processed_at=None,
        replayed_at=timezone.now(),
    )
    for pk in ids:
        transaction.on_commit(lambda pk=pk: delivery_enqueue(pk))
    return len(ids)


def deliveries_redrive(*, limit: int = 500) -> dict:
    """Return stuck rows to pending and re-enqueue pending rows nobody picked up."""
    now = timezone.now()
    stuck = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PROCESSING,
        claimed_at__lt=now - timedelta(seconds=settings.WEBHOOK_PROCESSING_TIMEOUT_SECONDS),
    ).update(status=WebhookDelivery.Status.PENDING, error="Worker stopped while processing; re-driven.")
    cutoff = now - timedelta(seconds=settings.WEBHOOK_REDRIVE_AFTER_SECONDS)
    pending = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, received_at__lt=cutoff)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .order_by("received_at").values_list("pk", flat=True)[:limit]
    )
    for pk in pending:
        delivery_enqueue(pk)
    if stuck or pending:
        logger.info("re-drive", extra={"returned_to_pending": stuck, "enqueued": len(pending)})
    return {"returned_to_pending": stuck, "enqueued": len(pending)}
