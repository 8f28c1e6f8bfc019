"""Processing a batch of deliveries (what process_deliveries_task runs): claim the rows, run
their adapters, read what the batch shares (RecordLookups), then record each response
(surveys.services.recording) in its own transaction, or, on PostgreSQL, the whole batch in one
(core.unit_of_work), falling back to one by one when the batch meets an error."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from core import unit_of_work
from surveys.adapters import Ignored
from surveys.models import WebhookDelivery
from surveys.services.deliveries import (
    deliveries_claim, deliveries_claim_more, delivery_fail, delivery_fail_or_retry, delivery_prepare,
)
from surveys.services.lookups import RecordLookups
from surveys.services.recording import InvalidResponse, response_record

logger = logging.getLogger("surveys.webhooks")


def delivery_process(*, delivery_pk: int) -> str:
    """Claim, normalize, record one delivery. Returns the final status (or "skipped" when someone
    else has it)."""
    return deliveries_process(delivery_pks=[delivery_pk])[delivery_pk]


def deliveries_process(*, delivery_pks: list[int], take_more: int = 0) -> dict[int, str]:
    """Claim, normalize and record a batch of deliveries; the final status of each ("skipped" for
    the ones someone else has, or that are not due yet).

    `take_more`: also claim up to this many other due pending deliveries, oldest first (PostgreSQL:
    rows another worker is claiming are skipped, not waited for). Under a backlog of small
    messages the worker thus works in full batches; the messages of the rows it took find them
    done and are skipped. Their statuses are in the result too.

    The batch shares its reads, not its transactions: one statement claims every row, one loads
    them, a few more find the customers, surveys and responses the batch already has
    (RecordLookups); then each delivery is recorded in its own transaction, so one bad delivery
    never holds back or rolls back the others."""
    outcomes = dict.fromkeys(delivery_pks, "skipped")
    claimed = deliveries_claim(delivery_pks)
    if take_more > 0 and connection.vendor == "postgresql":
        claimed += deliveries_claim_more(take_more)
    if not claimed:
        return outcomes
    prepared = []
    for delivery in WebhookDelivery.objects.select_related("source").filter(pk__in=claimed).order_by("pk"):
        try:
            prepared.append((delivery, delivery_prepare(delivery)))
        except Exception as exc:
            outcomes[delivery.pk] = delivery_fail_or_retry(delivery, exc)
    items = [(d.source, r) for d, r in prepared if not isinstance(r, Ignored)]
    try:
        lookups = RecordLookups.load(items)
    except DatabaseError:  # each delivery meets the error again on its own, and retries
        lookups = None
    if lookups is not None and len(prepared) > 1 and connection.vendor == "postgresql" and (
            settings.WEBHOOK_BATCH_TRANSACTION):
        try:
            outcomes.update(_deliveries_record_together(prepared, lookups))
            return outcomes
        except Exception as exc:  # noqa: BLE001 - nothing of the batch was written: each on its own
            logger.info("batch of %d deliveries recorded one by one (%s: %s)", len(prepared),
                        exc.__class__.__name__, exc)
            try:
                lookups = RecordLookups.load(items)  # what the batch kept was rolled back
            except DatabaseError:
                lookups = None
    for delivery, result in prepared:
        try:
            outcomes[delivery.pk] = _delivery_record(delivery, result, lookups)
        except Exception as exc:
            outcomes[delivery.pk] = delivery_fail_or_retry(delivery, exc)
    return outcomes


def _delivery_record(delivery: WebhookDelivery, result, lookups: RecordLookups | None) -> str:
    try:
        status = _delivery_record_atomically(delivery, result, lookups)
    except IntegrityError:
        if lookups is None:
            raise
        # An optimistic insert lost a race (another worker created the customer or the response
        # after this batch read them): record this delivery again without the batch's reads.
        lookups.drop()
        return _delivery_record_atomically(delivery, result, None)
    except BaseException:
        if lookups is not None:
            lookups.drop()
        raise
    if lookups is not None:
        (lookups.keep if status == WebhookDelivery.Status.PROCESSED else lookups.drop)()
    return status


def _delivery_record_atomically(delivery: WebhookDelivery, result, lookups: RecordLookups | None) -> str:
    with transaction.atomic():
        response = None
        if not isinstance(result, Ignored):
            response, _created = response_record(
                source=delivery.source, normalized=result, delivery=delivery, lookups=lookups)
        done = WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PROCESSING).update(
            status=WebhookDelivery.Status.PROCESSED, processed_at=timezone.now(), response=response, error="",
            note=result.reason[:255] if isinstance(result, Ignored) else "", not_before=None,
        )
        if not done:  # the re-drive took it back meanwhile: let the newer run record it
            transaction.set_rollback(True)
            return "skipped"
    return WebhookDelivery.Status.PROCESSED


def _deliveries_record_together(prepared: list, lookups: RecordLookups) -> dict[int, str]:
    """Record a batch in one transaction (PostgreSQL): every customer, response and alert of the
    batch is written with one statement per table (core.unit_of_work), what the responses set
    off that takes locks (opening cases) runs after them, and one UPDATE marks the deliveries
    done. Raises when anything goes wrong that the batch cannot answer for one
    delivery alone (a database error, a lost race, a delivery the re-drive took back): then
    nothing was written and the caller records each delivery on its own, as before.

    A delivery whose content is invalid fails alone (it writes nothing before it is found out)."""
    done: list[tuple[int, int | None, str]] = []  # (delivery, response, note)
    failed: dict[int, str] = {}
    with transaction.atomic(), unit_of_work.unit_of_work(size_hint=len(prepared)):
        for delivery, result in prepared:
            if isinstance(result, Ignored):
                done.append((delivery.pk, None, result.reason[:255]))
                continue
            try:
                response, _created = response_record(
                    source=delivery.source, normalized=result, delivery=delivery, lookups=lookups)
            except InvalidResponse as exc:
                lookups.drop()
                failed[delivery.pk] = str(exc)
                continue
            lookups.keep()
            done.append((delivery.pk, response.pk, ""))
        for pk, reason in failed.items():
            delivery_fail(pk, reason)
        _deliveries_mark_processed(done)
        # Leaving unit_of_work writes the rows, then opens the cases put off until now.
    outcomes = dict.fromkeys(failed, WebhookDelivery.Status.FAILED)
    outcomes.update(dict.fromkeys((pk for pk, _r, _n in done), WebhookDelivery.Status.PROCESSED))
    return outcomes


class _TakenBack(Exception):
    """A delivery of the batch is no longer ours (the re-drive returned it to pending)."""


def _deliveries_mark_processed(done: list[tuple[int, int | None, str]]) -> None:
    """One UPDATE marks the batch's deliveries processed, each with its response and note."""
    if not done:
        return
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS d SET status = %s, processed_at = %s, response_id = v.response_id, error = '', "
            f"note = v.note, not_before = NULL FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) "
            f"AS v(id, response_id, note) WHERE d.id = v.id AND d.status = %s",
            [WebhookDelivery.Status.PROCESSED, timezone.now(), [pk for pk, _r, _n in done],
             [r for _pk, r, _n in done], [n for _pk, _r, n in done], WebhookDelivery.Status.PROCESSING],
        )
        if cursor.rowcount != len(done):
            raise _TakenBack(f"{len(done) - cursor.rowcount} of the batch's deliveries were taken back")
