"""Processing a batch of deliveries (what process_deliveries_task runs): claim the rows, run
their adapters, read what the batch shares (RecordLookups), then record the whole batch in one
transaction (core.unit_of_work; surveys.services.recording for each response), on SQLite as on
PostgreSQL. A batch that meets an error is recorded again as batches of one, so one bad
delivery fails alone."""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from core import unit_of_work
from core.phones import normalized_phone
from surveys.adapters import Ignored
from surveys.models import Customer, Survey, SurveyResponse, WebhookDelivery
from surveys.normalized import NormalizedResponse
from surveys.services.deliveries import (
    deliveries_claim,
    deliveries_claim_more,
    delivery_fail,
    delivery_fail_or_retry,
    delivery_prepare,
)
from surveys.services.handlers import delivery_handler
from surveys.services.lookups import RecordLookups
from surveys.services.recording import InvalidResponse, response_record
from surveys.signals import Recorded, response_recorded
from surveys.storable import storable, storable_json

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

    One statement claims every row, one loads them, a few more find the customers, surveys and
    responses the batch already has (RecordLookups); then the batch is recorded in one
    transaction. When that meets an error, nothing of it was written, and each delivery is
    recorded again as a batch of one (the same code), so one bad delivery never holds back or
    rolls back the others."""
    outcomes = dict.fromkeys(delivery_pks, "skipped")
    claimed = deliveries_claim(delivery_pks)
    if take_more > 0 and connection.vendor == "postgresql":
        claimed += deliveries_claim_more(take_more)
    if not claimed:
        return outcomes
    prepared = []
    for delivery in WebhookDelivery.objects.select_related("source").filter(pk__in=claimed).order_by("pk"):
        if (handler := delivery_handler(delivery.source.vendor)) is not None:  # not a survey response
            outcomes[delivery.pk] = _delivery_handle(delivery, handler)
            continue
        try:
            prepared.append((delivery, response_storable(delivery_prepare(delivery))))
        except Exception as exc:
            outcomes[delivery.pk] = delivery_fail_or_retry(delivery, exc)
    items = [(d.source, r) for d, r in prepared if not isinstance(r, Ignored)]
    try:
        lookups = RecordLookups.load(items)
    except DatabaseError:  # each delivery meets the error again on its own, and retries
        lookups = None
    if lookups is not None and len(prepared) > 1:
        try:
            outcomes.update(_deliveries_record_together(prepared, lookups))
            return outcomes
        except Exception as exc:  # noqa: BLE001 - nothing of the batch was written: each on its own
            logger.info("batch of %d deliveries recorded again as batches of one (%s: %s)", len(prepared),
                        exc.__class__.__name__, exc)
            try:
                lookups = RecordLookups.load(items)  # what the batch kept was rolled back
            except DatabaseError:
                lookups = None
    for delivery, result in prepared:  # a batch of one each: one bad delivery fails alone
        outcomes.update(_delivery_record_alone(delivery, result, lookups))
    return outcomes


def _delivery_handle(delivery: WebhookDelivery, handler) -> str:
    """A delivery another app records (surveys.services.handlers), in its own transaction with the
    UPDATE that marks it processed; failed or retried as a response's delivery would be."""
    try:
        with transaction.atomic():
            note = handler(delivery)
            _deliveries_mark_processed([(delivery.pk, None, (note or "")[:255])])
    except _TakenBack:
        return "skipped"
    except Exception as exc:
        return delivery_fail_or_retry(delivery, exc)
    return WebhookDelivery.Status.PROCESSED


def _delivery_record_alone(delivery: WebhookDelivery, result, lookups: RecordLookups | None) -> dict[int, str]:
    """Record one delivery as a batch of its own; its outcome, also when that fails (failed or
    retrying, as delivery_fail_or_retry decides). When it fails, `lookups` forgets what it kept
    of it (rolled back), so the next delivery never finds a row that is not there."""
    before = lookups.snapshot() if lookups is not None else None
    try:
        try:
            return _deliveries_record_together([(delivery, result)], lookups)
        except IntegrityError:
            if lookups is None:
                raise
            # An optimistic insert lost a race (another worker created the customer or the
            # response after this batch read them): record it again without the batch's reads.
            lookups.restore(before)
            return _deliveries_record_together([(delivery, result)], None)
    except _TakenBack:  # the re-drive took it back meanwhile: let the newer run record it
        if lookups is not None:
            lookups.restore(before)
        return {delivery.pk: "skipped"}
    except Exception as exc:
        if lookups is not None:
            lookups.restore(before)
        return {delivery.pk: delivery_fail_or_retry(delivery, exc)}


def _deliveries_record_together(prepared: list, lookups: RecordLookups | None) -> dict[int, str]:
    """Record a batch in one transaction, the one way deliveries are recorded (a batch of one
    is just a batch): every customer, response and alert of the batch is written with one
    statement per table (core.unit_of_work), what the responses set off that takes locks
    (opening cases) runs after them, and one UPDATE marks the deliveries done. Raises when
    anything goes wrong that the batch cannot answer for one delivery alone (a database error,
    a lost race, a delivery the re-drive took back): then nothing was written and the caller
    records each delivery as a batch of its own.

    A delivery whose content is invalid fails alone (it writes nothing before it is found out).
    `lookups`: None when the batch's reads failed or lost a race (each row is then looked up)."""
    done: list[tuple[int, int | None, str]] = []  # (delivery, response, note)
    failed: dict[int, str] = {}
    new: set[int] = set()  # responses this batch created (their rules ran as they were recorded)
    with transaction.atomic(), unit_of_work.unit_of_work(size_hint=len(prepared)):
        for delivery, result in prepared:
            if isinstance(result, Ignored):
                done.append((delivery.pk, None, result.reason[:255]))
                continue
            try:
                response, _created = response_record(
                    source=delivery.source, normalized=result, delivery=delivery, lookups=lookups)
            except InvalidResponse as exc:
                if lookups is not None:
                    lookups.drop()
                failed[delivery.pk] = str(exc)
                continue
            if lookups is not None:
                lookups.keep()
            if _created:
                new.add(response.pk)
            elif delivery.replayed_at is not None and response.pk not in new:
                # A person replayed the delivery (after changing a rule, say): the rules run again
                # on its response as it is now. Alerts are unique per rule and response, so a
                # rule that already fired fires no more.
                response_recorded.send(sender=SurveyResponse, recorded=Recorded.stored(response))
            done.append((delivery.pk, response.pk, ""))
        for pk, reason in failed.items():
            delivery_fail(pk, reason)
        _deliveries_mark_processed(done)
        # Leaving unit_of_work writes the rows, then opens the cases put off until now.
    outcomes = dict.fromkeys(failed, WebhookDelivery.Status.FAILED)
    outcomes.update(dict.fromkeys((pk for pk, _r, _n in done), WebhookDelivery.Status.PROCESSED))
    return outcomes


# --- Sanitising: what a sender controls, made storable -----------------------------------------

_LIMITS = {name: SurveyResponse._meta.get_field(name).max_length
           for name in ("external_id", "touchpoint", "channel", "location", "region")}
_SURVEY_LIMITS = {"survey_id": Survey._meta.get_field("external_id").max_length,
                  "survey_name": Survey._meta.get_field("name").max_length}
_CUSTOMER_LIMITS = {name: Customer._meta.get_field(name).max_length
                    for name in ("external_id", "email", "name", "phone", "tier", "segment")}
_ACCOUNT_VALUE = Customer._meta.get_field("account_value")


def response_storable(result):
    """A normalized response as PostgreSQL can store it, whatever the sender put in it: NUL and
    lone surrogates in any string (ids, comment, customer, score keys, attribute keys and values)
    become U+FFFD; a phone number is put in E.164 when it reads as one (core.phones); text longer than its column is cut (an e-mail address is dropped rather than
    cut: a cut address could reach someone else); an account value its column cannot hold and
    non-finite numbers in attributes are left out. Ignored passes through."""
    if not isinstance(result, NormalizedResponse):
        return result
    customer = result.customer
    email = storable(customer.email)
    account_value = customer.account_value
    if account_value is not None and (not account_value.is_finite() or abs(account_value) >= Decimal(10) ** (
            _ACCOUNT_VALUE.max_digits - _ACCOUNT_VALUE.decimal_places)):
        account_value = None
    customer = replace(
        customer, **{name: storable(getattr(customer, name))[:limit] for name, limit in _CUSTOMER_LIMITS.items()
                     if name not in ("email", "phone")},
        email=email if len(email) <= _CUSTOMER_LIMITS["email"] else "", account_value=account_value,
        phone=normalized_phone(storable(customer.phone))[:_CUSTOMER_LIMITS["phone"]],
        attributes=storable_json(customer.attributes),
    )
    return replace(
        result, response_id=storable(result.response_id)[:_LIMITS["external_id"]],
        survey_id=storable(result.survey_id)[:_SURVEY_LIMITS["survey_id"]],
        survey_name=storable(result.survey_name)[:_SURVEY_LIMITS["survey_name"]],
        comment=storable(result.comment),
        **{name: storable(getattr(result, name))[:_LIMITS[name]] for name in ("touchpoint", "channel", "location", "region")},
        scores=tuple(replace(score, key=storable(score.key)) for score in result.scores),
        customer=customer, attributes=storable_json(result.attributes),
    )


class _TakenBack(Exception):
    """A delivery of the batch is no longer ours (the re-drive returned it to pending)."""


def _deliveries_mark_processed(done: list[tuple[int, int | None, str]]) -> None:
    """One UPDATE marks the batch's deliveries processed, each with its response and note (on
    SQLite, which has no arrays to unnest, one UPDATE per delivery)."""
    if not done:
        return
    now = timezone.now()
    if connection.vendor != "postgresql":
        marked = sum(
            WebhookDelivery.objects.filter(pk=pk, status=WebhookDelivery.Status.PROCESSING).update(
                status=WebhookDelivery.Status.PROCESSED, processed_at=now, response_id=response_id, error="",
                note=note, not_before=None)
            for pk, response_id, note in done)
    else:
        table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS d SET status = %s, processed_at = %s, response_id = v.response_id, error = '', "
                f"note = v.note, not_before = NULL FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) "
                f"AS v(id, response_id, note) WHERE d.id = v.id AND d.status = %s",
                [WebhookDelivery.Status.PROCESSED, now, [pk for pk, _r, _n in done],
                 [r for _pk, r, _n in done], [n for _pk, _r, n in done], WebhookDelivery.Status.PROCESSING],
            )
            marked = cursor.rowcount
    if marked != len(done):
        raise _TakenBack(f"{len(done) - marked} of the batch's deliveries were taken back")
