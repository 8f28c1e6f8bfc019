"""Writes for the surveys stage: sources, deliveries and the response recorder.

The path of a delivery: the webhook (surveys.ingest) verifies it and stores it with one INSERT
(committed before the 202); `process_deliveries_task` (a batch, as the publisher sends them) calls
`deliveries_process`, which claims the rows, runs the vendor adapter (fetching thin webhooks
first) and calls `response_record`, one transaction per delivery."""

from __future__ import annotations

import base64
import logging
import secrets as pysecrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from core import unit_of_work
from core.unit_of_work import insert, insert_all, is_staged
from surveys.adapters import FetchRequest, Ignored, MappingError, PayloadError, get_adapter, parse_body
from surveys.models import (
    Customer, ResponseTheme, Survey, SurveyResponse, Theme, Vendor, WebhookDelivery, WebhookSource,
)
from surveys.normalized import CustomerIdentity, NormalizedResponse
from surveys.signals import response_recorded, response_recording

logger = logging.getLogger("surveys.webhooks")

class InvalidResponse(ValueError):
    """A normalized response that cannot be stored (a score off its scale); says what to fix."""


# --- Sources ------------------------------------------------------------------------------


def secret_generate(vendor: str) -> str:
    if vendor == Vendor.STANDARD:
        return "whsec_" + base64.b64encode(pysecrets.token_bytes(24)).decode()
    return pysecrets.token_urlsafe(32)


def source_create(
    *, name: str, slug: str, vendor: str, secret: str = "", mapping: dict | None = None, auth: dict | None = None,
    rate_limit_per_second: int = 50,
) -> WebhookSource:
    from surveys.adapters.common import validate_mapping

    if vendor not in Vendor.values:
        raise ValueError(f"Unknown vendor {vendor!r}; choose one of {', '.join(Vendor.values)}.")
    problems = validate_mapping(mapping or {})
    if problems:
        raise ValueError(" ".join(problems))
    source = WebhookSource(
        name=name, slug=slug, vendor=vendor, secret=secret or secret_generate(vendor), mapping=mapping or {},
        auth=auth or {}, rate_limit_per_second=rate_limit_per_second,
    )
    source.full_clean()
    source.save()
    return source


# --- Deliveries ----------------------------------------------------------------------------



def delivery_enqueue(delivery_pk: int, countdown: int = 0) -> None:
    """Hand a delivery to the worker; when the broker is down the re-drive sweep will do it later."""
    from surveys.tasks import process_delivery_task

    try:
        process_delivery_task.apply_async((delivery_pk,), countdown=countdown or None, retry=False)
    except Exception as exc:  # broker unreachable: the row waits in PostgreSQL
        if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False) and not _is_broker_error(exc):
            raise
        logger.warning("delivery %s not enqueued (%s); the re-drive will pick it up", delivery_pk, exc)


def _is_broker_error(exc: Exception) -> bool:
    from kombu.exceptions import OperationalError as KombuOperationalError

    return isinstance(exc, (KombuOperationalError, ConnectionError, OSError))


def delivery_normalize(delivery: WebhookDelivery, mapping: dict | None = None, fetched: dict | None = None):
    """Run the source's adapter over a stored delivery: NormalizedResponse or Ignored.

    Raises MappingError (a person must act) or PayloadError. Pure apart from reading the row."""
    source = delivery.source
    adapter = get_adapter(source.vendor)
    payload = parse_body(bytes(delivery.body), delivery.content_type)
    return adapter.normalize(
        payload, source.mapping if mapping is None else mapping, delivery.received_at,
        fetched=fetched if fetched is not None else delivery.fetched, source_name=source.name,
        fallback_response_id=delivery.delivery_id,
    )


def delivery_fetch_request(delivery: WebhookDelivery) -> FetchRequest | None:
    adapter = get_adapter(delivery.source.vendor)
    return adapter.fetch_request(delivery.source, parse_body(bytes(delivery.body), delivery.content_type))


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
    claimed = _deliveries_claim(delivery_pks)
    if take_more > 0 and connection.vendor == "postgresql":
        claimed += _deliveries_claim_more(take_more)
    if not claimed:
        return outcomes
    prepared = []
    for delivery in WebhookDelivery.objects.select_related("source").filter(pk__in=claimed).order_by("pk"):
        try:
            prepared.append((delivery, _delivery_prepare(delivery)))
        except Exception as exc:
            outcomes[delivery.pk] = _delivery_error(delivery, exc)
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
            outcomes[delivery.pk] = _delivery_error(delivery, exc)
    return outcomes


def _deliveries_claim(delivery_pks: list[int]) -> list[int]:
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


def _deliveries_claim_more(limit: int) -> list[int]:
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


def _delivery_prepare(delivery: WebhookDelivery):
    """The delivery's normalized response (or Ignored), fetching a thin webhook's body first."""
    from surveys.vendor_api import fetch

    if delivery.fetched is None and (request := delivery_fetch_request(delivery)) is not None:
        delivery.fetched = fetch(request)  # slow I/O outside any transaction
        WebhookDelivery.objects.filter(pk=delivery.pk).update(fetched=delivery.fetched)
    return delivery_normalize(delivery)


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
            _delivery_fail(pk, reason)
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


def _delivery_error(delivery: WebhookDelivery, exc: Exception) -> str:
    """Fail (a person must act) or retry (transient) a delivery whose processing raised `exc`."""
    from surveys.vendor_api import TransientError

    if isinstance(exc, (MappingError, PayloadError, InvalidResponse)):
        _delivery_fail(delivery.pk, str(exc))
        return WebhookDelivery.Status.FAILED
    if isinstance(exc, TransientError):
        return _delivery_retry(delivery, str(exc))
    if isinstance(exc, DatabaseError):
        return _delivery_retry(delivery, f"database error: {exc}")
    logger.error("delivery %s failed unexpectedly", delivery.pk, exc_info=exc)
    _delivery_fail(delivery.pk, f"Internal error ({exc.__class__.__name__}: {exc}); replay once it is fixed.")
    return WebhookDelivery.Status.FAILED


def _delivery_fail(pk: int, reason: str) -> None:
    WebhookDelivery.objects.filter(pk=pk).update(
        status=WebhookDelivery.Status.FAILED, error=reason[:2000], processed_at=timezone.now(), not_before=None
    )


def _delivery_retry(delivery: WebhookDelivery, reason: str) -> str:
    attempts = delivery.attempts  # read after the claim, which counted this attempt
    if attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        _delivery_fail(delivery.pk, f"Gave up after {attempts} attempts: {reason}")
        return WebhookDelivery.Status.FAILED
    delay = min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1), 1800)
    WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PROCESSING).update(
        status=WebhookDelivery.Status.PENDING, error=f"Attempt {attempts} failed, retrying: {reason}"[:2000],
        not_before=timezone.now() + timedelta(seconds=delay),
    )
    transaction.on_commit(lambda: delivery_enqueue(delivery.pk, countdown=delay))
    return "retrying"


def delivery_replay(*, delivery: WebhookDelivery) -> bool:
    """Put a failed (or processed-but-ignored) delivery back in the queue; True when it was."""
    updated = WebhookDelivery.objects.filter(
        pk=delivery.pk, status__in=[WebhookDelivery.Status.FAILED, WebhookDelivery.Status.PROCESSED]
    ).update(status=WebhookDelivery.Status.PENDING, error="", attempts=0, not_before=None, processed_at=None)
    if updated:
        transaction.on_commit(lambda: delivery_enqueue(delivery.pk))
    return bool(updated)


def deliveries_replay_failed(*, source: WebhookSource) -> int:
    ids = list(source.deliveries.filter(status=WebhookDelivery.Status.FAILED).values_list("pk", flat=True)[:5000])
    WebhookDelivery.objects.filter(pk__in=ids, status=WebhookDelivery.Status.FAILED).update(
        status=WebhookDelivery.Status.PENDING, error="", attempts=0, not_before=None, processed_at=None
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


# --- Responses -----------------------------------------------------------------------------

class RecordLookups:
    """What a batch of normalized responses needs from the database, read up front in a few
    queries: the responses it repeats, its customers (by external id and by e-mail) and its
    surveys. `response_record` consults it before querying; what one delivery records is staged,
    and kept once its transaction is through (`keep()`; `drop()` after a rollback), so a later
    delivery in the same batch finds it and never a row that was rolled back. A miss means "not
    there when the batch was read": the unique constraints still decide, and a row created
    meanwhile by another worker is found by the query that follows the lost INSERT."""

    # Optimistic: a customer or response the batch's reads did not find is inserted without a
    # savepoint of its own (two round trips fewer each). The rare insert that loses a race with
    # another worker aborts its delivery's transaction; deliveries_process then records that
    # delivery again the careful way (no lookups, savepoints, re-reads).
    optimistic = True

    def __init__(self):
        self.responses: dict[tuple[int, str], SurveyResponse] = {}
        self.customers_by_external_id: dict[str, Customer] = {}
        self.customers_by_email: dict[str, Customer] = {}
        self.surveys: dict[tuple[int, str], Survey] = {}
        self._staged: list = []

    def stage(self, kind: str, key, value) -> None:
        self._staged.append((kind, key, value))

    def keep(self) -> None:
        for kind, key, value in self._staged:
            if kind == "customer":
                self._add_customer(value)
            else:
                getattr(self, kind)[key] = value
        self._staged.clear()

    def drop(self) -> None:
        self._staged.clear()

    @classmethod
    def load(cls, items: list[tuple[WebhookSource, NormalizedResponse]]) -> RecordLookups:
        lookups = cls()
        if not items:
            return lookups
        by_source: dict[int, set[str]] = {}
        survey_ids: dict[int, set[str]] = {}
        external_ids = set()
        for source, normalized in items:
            by_source.setdefault(source.pk, set()).add(normalized.response_id)
            survey_ids.setdefault(source.pk, set()).add(normalized.survey_id)
            if normalized.customer.external_id:
                external_ids.add(normalized.customer.external_id)
        responses = Q()
        for source_id, ids in by_source.items():
            responses |= Q(source_id=source_id, external_id__in=ids)
        for response in SurveyResponse.objects.filter(responses).order_by():
            lookups.responses[(response.source_id, response.external_id)] = response
        surveys = Q()
        for source_id, ids in survey_ids.items():
            surveys |= Q(source_id=source_id, external_id__in=ids)
        for survey in Survey.objects.filter(surveys).order_by():
            lookups.surveys[(survey.source_id, survey.external_id)] = survey
        if external_ids:
            for customer in Customer.objects.filter(external_id__in=external_ids).order_by():
                lookups.customers_by_external_id[customer.external_id] = customer
        # By e-mail only for whom the external id found nobody (customer_match looks no further).
        emails = {n.customer.email.lower() for _s, n in items if n.customer.email
                  and n.customer.external_id not in lookups.customers_by_external_id}
        if emails:
            for customer in Customer.objects.annotate(email_ci=Lower("email")).filter(email_ci__in=emails).order_by():
                lookups.customers_by_email[customer.email_ci] = customer  # unique, case-insensitively
        return lookups

    def customer_match(self, identity: CustomerIdentity) -> Customer | None:
        """`_customer_match` answered from the batch's reads (the phone-only case is not read up
        front: None sends the caller to the database)."""
        if identity.external_id and (found := self.customers_by_external_id.get(identity.external_id)):
            return found
        if identity.email:
            found = self.customers_by_email.get(identity.email.lower())
            if found is not None and not (identity.external_id and found.external_id):
                return found
        return None

    def can_answer(self, identity: CustomerIdentity) -> bool:
        return bool(identity.external_id or identity.email)

    def _add_customer(self, customer: Customer) -> None:
        if customer.external_id:
            self.customers_by_external_id[customer.external_id] = customer
        if customer.email:
            self.customers_by_email.setdefault(customer.email.lower(), customer)



def response_analyse(response: SurveyResponse) -> list:
    """Fill a response's sentiment, sentiment_source and language from its comment (surveys.text)
    and return the active themes its comment is about (ThemeFound list). Writes nothing."""
    from surveys.text import active_theme_matcher, analyse, response_score_sentiment

    result = analyse(response.comment, fallback_score=response_score_sentiment(response))
    response.sentiment, response.sentiment_source, response.language = (
        result.sentiment, result.sentiment_source, result.language)
    return active_theme_matcher().match(response.comment) if result.language else []


def _response_store_themes(response: SurveyResponse, found: list) -> None:
    """The response's theme links (a new response: no links yet), and `response.theme_ids` for the
    alert evaluation that runs right after, so it needs no query."""
    if found:
        insert_all([
            ResponseTheme(response=response, theme_id=f.theme_id, matches=list(f.matches),
                          answered_at=response.answered_at)
            for f in found
        ], ignore_conflicts=True)
    response.theme_ids = frozenset(f.theme_id for f in found)


def _validate(normalized: NormalizedResponse) -> None:
    if not normalized.scores:
        raise InvalidResponse("The response has no score.")
    for score in normalized.scores:
        if not score.scale_min <= score.value <= score.scale_max:
            raise InvalidResponse(f"{score.key} {score.value} is outside its {score.scale_min}–{score.scale_max} scale.")
        if score.metric == "nps" and (score.value != int(score.value) or (score.scale_min, score.scale_max) != (0, 10)):
            raise InvalidResponse(f"NPS must be a whole number from 0 to 10, got {score.value}.")


# No savepoint of its own: it runs inside the caller's transaction (a failure rolls back the whole
# delivery, as it must), and a savepoint here would cost two round trips per response.
@transaction.atomic(savepoint=False)
def response_record(
    *, source: WebhookSource, normalized: NormalizedResponse, delivery: WebhookDelivery | None = None,
    lookups: RecordLookups | None = None,
) -> tuple[SurveyResponse, bool]:
    """Store one normalized response (customer and survey found or created) and announce it.

    A duplicate (same source and response id) returns the stored one with created=False and no
    signal; it only fills a comment the first delivery did not have (Delighted sends the score
    first and the comment in a later `survey_response.updated`). `lookups`: what a batch read up
    front (deliveries_process), consulted instead of a query per row."""
    key = (source.pk, normalized.response_id)
    if lookups is not None:
        existing = lookups.responses.get(key)
    else:
        existing = SurveyResponse.objects.filter(source=source, external_id=normalized.response_id).first()
    if existing is not None:
        _response_fill_comment(existing, normalized)
        return existing, False
    _validate(normalized)
    customer = customer_find_or_create(normalized.customer, lookups=lookups)
    survey = survey_find_or_create(source=source, external_id=normalized.survey_id, name=normalized.survey_name,
                                   lookups=lookups)
    response = SurveyResponse(
        source=source, survey=survey, customer=customer, external_id=normalized.response_id,
        answered_at=normalized.answered_at, comment=normalized.comment,
        touchpoint=normalized.touchpoint, channel=normalized.channel, location=normalized.location,
        region=normalized.region, attributes=normalized.attributes, scores={},
    )
    for score in normalized.scores:
        response.scores[score.key] = {
            "metric": score.metric, "value": float(score.value), "min": score.scale_min, "max": score.scale_max,
            "higher_is_better": score.higher_is_better,
        }
        if score.metric == "nps" and response.nps is None:
            response.nps = int(score.value)
        elif score.metric == "csat" and response.csat is None:
            response.csat, response.csat_scale_min, response.csat_scale_max = score.value, score.scale_min, score.scale_max
        elif score.metric == "ces" and response.ces is None:
            response.ces, response.ces_scale_min, response.ces_scale_max = score.value, score.scale_min, score.scale_max
            response.ces_high_is_easy = score.higher_is_better
    themes = response_analyse(response)  # before the signal: alert rules read sentiment and themes
    response_recording.send(sender=SurveyResponse, response=response)  # cases sets its team: one INSERT
    if lookups is not None and lookups.optimistic:
        insert(response)  # a lost race aborts the transaction: the delivery is recorded again, carefully
    else:
        try:
            with transaction.atomic():
                response.save()
        except IntegrityError:  # recorded meanwhile by another worker (or earlier than a batch's reads)
            existing = SurveyResponse.objects.filter(source=source, external_id=normalized.response_id).first()
            if existing is None:
                raise
            _response_fill_comment(existing, normalized)
            return existing, False
    _response_store_themes(response, themes)
    # While the receivers run, they know the response is new: no alert, case or recognition of it
    # can exist yet, so they need not look. Only while they run: the caller may use it again.
    response.just_recorded = True
    try:
        response_recorded.send(sender=SurveyResponse, response=response)
    finally:
        response.just_recorded = False
        response.__dict__.pop("recorded_case", None)
    if lookups is not None:
        lookups.stage("responses", key, response)
    return response, True


def _response_fill_comment(response: SurveyResponse, normalized: NormalizedResponse) -> None:
    if normalized.comment and not response.comment:
        response.comment = normalized.comment
        themes = response_analyse(response)
        if is_staged(response):  # recorded earlier in this batch, not inserted yet: it carries the comment
            _response_store_themes(response, themes)
            return
        filled = SurveyResponse.objects.filter(pk=response.pk, comment="").update(
            comment=response.comment, sentiment=response.sentiment, sentiment_source=response.sentiment_source,
            language=response.language,
        )
        if filled:
            _response_store_themes(response, themes)
        response.refresh_from_db(fields=["comment", "sentiment", "sentiment_source", "language"])


def survey_find_or_create(*, source: WebhookSource, external_id: str, name: str,
                          lookups: RecordLookups | None = None) -> Survey:
    for attempt in range(3):
        if lookups is not None and attempt == 0:
            survey = lookups.surveys.get((source.pk, external_id))
        else:
            survey = Survey.objects.filter(source=source, external_id=external_id).first()
        if survey is not None:
            if name and survey.name != name and survey.name == survey.external_id:
                Survey.objects.filter(pk=survey.pk).update(name=name)
                survey.name = name
            return survey
        try:
            with transaction.atomic():
                survey = Survey.objects.create(source=source, external_id=external_id, name=name or external_id)
            if lookups is not None:
                lookups.stage("surveys", (source.pk, external_id), survey)
            return survey
        except IntegrityError:
            continue
    raise IntegrityError(f"Could not find or create survey {external_id!r}")


def customer_find_or_create(identity: CustomerIdentity, lookups: RecordLookups | None = None) -> Customer | None:
    """External id first, then e-mail (case-insensitive); created when neither matches.

    Race-safe: the unique constraints decide, and a lost race re-reads the winner's row. With
    `lookups` the first match is answered from the batch's reads; a retry always asks the database."""
    if not any([identity.external_id, identity.email, identity.name, identity.phone]):
        return None
    for attempt in range(3):
        if lookups is not None and attempt == 0 and lookups.can_answer(identity):
            customer = lookups.customer_match(identity)
        else:
            customer = _customer_match(identity)
        if customer is None:
            fields = {
                "external_id": identity.external_id or None, "email": identity.email, "name": identity.name,
                "phone": identity.phone, "tier": identity.tier, "segment": identity.segment,
                "account_value": identity.account_value, "attributes": identity.attributes or {},
            }
            if lookups is not None and lookups.optimistic and attempt == 0:
                customer = insert(Customer(**fields))  # a lost race aborts the transaction (see RecordLookups)
            else:
                try:
                    with transaction.atomic():
                        customer = Customer.objects.create(**fields)
                except IntegrityError:
                    continue  # someone created it meanwhile (or the e-mail belongs to another id): match again
        else:
            _customer_enrich(customer, identity)
        if lookups is not None:
            lookups.stage("customer", None, customer)
        return customer
    # E-mail already belongs to a customer with another external id: keep the id, drop the e-mail.
    with transaction.atomic():
        return Customer.objects.create(external_id=identity.external_id or None, name=identity.name,
                                       phone=identity.phone, tier=identity.tier, segment=identity.segment,
                                       account_value=identity.account_value,
                                       attributes={**(identity.attributes or {}), "email": identity.email})


def _customer_match(identity: CustomerIdentity) -> Customer | None:
    if identity.external_id:
        found = Customer.objects.filter(external_id=identity.external_id).first()
        if found is not None:
            return found
    if identity.email:
        found = Customer.objects.annotate(email_ci=Lower("email")).filter(email_ci=identity.email.lower()).first()
        if found is not None and not (identity.external_id and found.external_id):
            return found
    if not identity.external_id and not identity.email and identity.phone:
        return Customer.objects.filter(phone=identity.phone, external_id__isnull=True, email="").first()
    return None


def _customer_enrich(customer: Customer, identity: CustomerIdentity) -> None:
    changed = []
    fields = ["tier", "segment"] + ([] if customer.erased_at else ["name", "phone"])
    for name in fields:
        value = getattr(identity, name)
        if value and getattr(customer, name) != value:
            setattr(customer, name, value)
            changed.append(name)
    if identity.account_value is not None and customer.account_value != Decimal(identity.account_value):
        customer.account_value = identity.account_value
        changed.append("account_value")
    if identity.attributes and any(customer.attributes.get(k) != v for k, v in identity.attributes.items()):
        customer.attributes = {**customer.attributes, **identity.attributes}
        changed.append("attributes")
    ids = []
    if identity.external_id and not customer.external_id:
        customer.external_id = identity.external_id
        ids.append("external_id")
    if identity.email and not customer.email and not customer.erased_at:
        customer.email = identity.email
        ids.append("email")
    if not changed and not ids or is_staged(customer):  # a row still to be inserted carries its new values
        return
    if not ids and (batch := unit_of_work.current()) is not None:
        # Nothing unique changes, so nothing can conflict: written with the batch's other
        # customers whose same fields change, in one UPDATE, before its cases are opened.
        customer.updated_at = timezone.now()
        batch.update(customer, changed + ["updated_at"])
        return
    try:
        with transaction.atomic():
            customer.save(update_fields=changed + ids + ["updated_at"])
    except IntegrityError:  # the id or e-mail was taken by another customer meanwhile
        customer.refresh_from_db()
        if changed:
            for name in changed:
                setattr(customer, name, getattr(identity, name) if name != "attributes" else
                        {**customer.attributes, **identity.attributes})
            customer.save(update_fields=changed + ["updated_at"])


# --- Themes ---------------------------------------------------------------------------------
#
# Every theme write goes through here, so the per-process theme cache (surveys.text) always hears
# about it; a theme whose keywords change (or that becomes active) re-tags recent responses in
# the background (retag_responses_task), which also keeps theme volumes and trends honest.

RETAG_DAYS = 365  # how far back a changed or accepted theme re-tags responses


def theme_problems(*, name: str, keywords, status: str = Theme.Status.ACTIVE,
                   exclude_pk: int | None = None) -> dict[str, list[str]]:
    """Why a theme with these values cannot be saved: {field: [message]} (empty when fine).
    The one validator for the theme pages, the API and the services."""
    from surveys.text import clean_keywords

    problems: dict[str, list[str]] = {}
    name = " ".join((name or "").split())
    if not name:
        problems.setdefault("name", []).append("Give the theme a name, e.g. “Delivery delays”.")
    elif len(name) > 120:
        problems.setdefault("name", []).append("Keep the name to 120 characters.")
    else:
        others = Theme.objects.exclude(pk=exclude_pk) if exclude_pk else Theme.objects.all()
        clash = others.filter(name__iexact=name).first()
        if clash is not None:
            problems.setdefault("name", []).append(
                f"“{clash.name}” already exists ({clash.get_status_display().lower()}); choose another name"
                + (" or reactivate it." if clash.status in (Theme.Status.RETIRED, Theme.Status.REJECTED) else "."))
    if not isinstance(keywords, (list, tuple)) or not all(isinstance(k, str) for k in keywords):
        problems.setdefault("keywords", []).append("Keywords must be a list of words or phrases.")
        return problems
    for keyword in keywords:
        if keyword.strip() and not any(ch.isalnum() for ch in keyword):
            problems.setdefault("keywords", []).append(f"“{keyword}” has no letters or digits to look for.")
        elif len(keyword) > 100:
            problems.setdefault("keywords", []).append(f"“{keyword[:30]}…” is too long for a keyword (100 characters).")
    if status in (Theme.Status.ACTIVE, Theme.Status.PROPOSED) and not clean_keywords(keywords):
        problems.setdefault("keywords", []).append(
            "Give at least one keyword or phrase (one per line); a theme tags the comments that contain any of them.")
    return problems


def _unique_slug(name: str, exclude_pk: int | None = None) -> str:
    from django.utils.text import slugify

    base = (slugify(name) or "theme")[:130]
    slug, n = base, 2
    while Theme.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _theme_check(theme: Theme) -> None:
    from django.core.exceptions import ValidationError

    problems = theme_problems(name=theme.name, keywords=theme.keywords, status=theme.status, exclude_pk=theme.pk)
    if problems:
        raise ValidationError(problems)


def theme_retag_later(theme_id: int) -> None:
    """After commit, queue the re-tag of the last RETAG_DAYS days of responses for one theme."""

    def enqueue():
        from surveys.tasks import retag_responses_task

        since = (timezone.now() - timedelta(days=RETAG_DAYS)).isoformat()
        try:
            retag_responses_task.delay(since=since, theme_ids=[theme_id])
        except Exception as exc:
            if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
                raise
            logger.warning("theme %s re-tag not enqueued (%s); run `manage.py retag_responses`", theme_id, exc)

    transaction.on_commit(enqueue)


@transaction.atomic
def theme_create(*, name: str, keywords, description: str = "", by=None,
                 status: str = Theme.Status.ACTIVE) -> Theme:
    """A theme written by an admin: active at once (it tags new comments, and recent ones in the
    background) unless `status` says otherwise."""
    from surveys.text import clean_keywords, themes_changed

    theme = Theme(name=" ".join(name.split()), keywords=clean_keywords(keywords), description=description.strip(),
                  status=status, origin=Theme.Origin.ADMIN, decided_at=timezone.now(), decided_by=by)
    _theme_check(theme)
    theme.slug = _unique_slug(theme.name)
    theme.save()
    themes_changed()
    if theme.status == Theme.Status.ACTIVE:
        theme_retag_later(theme.pk)
    return theme


@transaction.atomic
def theme_update(*, theme_id: int, by=None, name: str | None = None, keywords=None,
                 description: str | None = None) -> Theme:
    """Rename or re-word a theme. An active theme keeps its slug (API filters and links go on
    working); a proposed one takes the new name's slug. Changed keywords re-tag recent responses."""
    from surveys.text import clean_keywords, keyword_key, themes_changed

    theme = Theme.objects.select_for_update().get(pk=theme_id)
    old_keywords = keyword_key(theme.keywords)
    if name is not None:
        theme.name = " ".join(name.split())
    if keywords is not None:
        theme.keywords = clean_keywords(keywords)
    if description is not None:
        theme.description = description.strip()
    _theme_check(theme)
    if theme.status == Theme.Status.PROPOSED and name is not None:
        theme.slug = _unique_slug(theme.name, exclude_pk=theme.pk)
    theme.save()
    themes_changed()
    if theme.status == Theme.Status.ACTIVE and keyword_key(theme.keywords) != old_keywords:
        theme_retag_later(theme.pk)
    return theme


def theme_propose(*, theme: Theme) -> Theme:
    """Store a discovered theme as a proposal (it tags nothing until an admin accepts it)."""
    theme.status, theme.origin = Theme.Status.PROPOSED, Theme.Origin.DISCOVERED
    theme.slug = _unique_slug(theme.name)
    try:
        with transaction.atomic():
            theme.save()
    except IntegrityError:  # another run proposed the same name meanwhile
        return Theme.objects.get(name=theme.name)
    return theme


class ThemeTransitionError(ValueError):
    """A theme decision that does not apply to the theme's current status; says why."""


_DECISIONS = {  # decision: (from statuses, to status, past participle)
    "accept": ({Theme.Status.PROPOSED}, Theme.Status.ACTIVE, "accepted"),
    "reject": ({Theme.Status.PROPOSED}, Theme.Status.REJECTED, "rejected"),
    "retire": ({Theme.Status.ACTIVE}, Theme.Status.RETIRED, "retired"),
    "reactivate": ({Theme.Status.RETIRED, Theme.Status.REJECTED}, Theme.Status.ACTIVE, "reactivated"),
}


@transaction.atomic
def theme_decide(*, theme_id: int, decision: str, by, name: str | None = None, keywords=None) -> Theme:
    """accept (proposed -> active, optionally renamed or re-worded), reject (proposed -> rejected:
    never proposed again), retire (active -> retired: tags no new comment, its history stays),
    reactivate (retired or rejected -> active). Becoming active re-tags recent responses."""
    from surveys.text import clean_keywords, themes_changed

    if decision not in _DECISIONS:
        raise ThemeTransitionError(f"Unknown decision “{decision}”: use accept, reject, retire or reactivate.")
    allowed, to, done = _DECISIONS[decision]
    theme = Theme.objects.select_for_update().get(pk=theme_id)
    if theme.status not in allowed:
        raise ThemeTransitionError(
            f"“{theme.name}” is {theme.status}; only {' or '.join(sorted(allowed))} themes can be {done}.")
    renamed = name is not None and " ".join(name.split()) != theme.name
    if name is not None:
        theme.name = " ".join(name.split())
    if keywords is not None:
        theme.keywords = clean_keywords(keywords)
    theme.status = to
    _theme_check(theme)
    if renamed and decision == "accept":
        theme.slug = _unique_slug(theme.name, exclude_pk=theme.pk)
    theme.decided_at, theme.decided_by = timezone.now(), by
    theme.save()
    themes_changed()
    if to == Theme.Status.ACTIVE:
        theme_retag_later(theme.pk)
    return theme


# --- Re-tagging -----------------------------------------------------------------------------


class RetagResult:
    """What a re-tag changed: responses read, theme links added, removed and re-worded, and
    (with sentiment=True) responses whose sentiment or language changed."""

    __slots__ = ("scanned", "added", "removed", "updated", "sentiment_updated")

    def __init__(self):
        self.scanned = self.added = self.removed = self.updated = self.sentiment_updated = 0

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}

    def __str__(self) -> str:
        text = (f"{self.scanned} responses read: {self.added} theme tags added, {self.removed} removed, "
                f"{self.updated} with other matched words")
        return text + (f"; {self.sentiment_updated} sentiments updated" if self.sentiment_updated else "")


SENTIMENT_COLUMNS = ("nps", "csat", "csat_scale_min", "csat_scale_max", "ces", "ces_scale_min", "ces_scale_max",
                     "ces_high_is_easy", "sentiment", "sentiment_source", "language")


def responses_retag(*, since=None, until=None, theme_ids=None, sentiment: bool = False, batch_size: int = 1000,
                    progress=None) -> RetagResult:
    """Bring responses' theme links in line with the active themes (all of them, or `theme_ids`):
    links are added, removed or get their matched words updated. Links to themes that are not
    active (retired: history) are left alone. With sentiment=True the sentiment, its source and
    the language are recomputed too. Idempotent, in batches of `batch_size` responses (each in its
    own transaction, keyed by id so rows recorded meanwhile are simply picked up or not);
    `progress(n)` is called after each batch with the number of responses it read."""
    from types import SimpleNamespace

    from surveys.text import ThemeMatcher, analyse, response_score_sentiment

    themes = Theme.objects.filter(status=Theme.Status.ACTIVE)
    if theme_ids is not None:
        themes = themes.filter(pk__in=list(theme_ids))
    matcher = ThemeMatcher(themes.values_list("id", "name", "slug", "keywords"))
    considered = list(matcher.ids)
    result = RetagResult()
    if not considered and not sentiment:
        return result
    responses = SurveyResponse.objects.all()
    if since is not None:
        responses = responses.filter(answered_at__gte=since)
    if until is not None:
        responses = responses.filter(answered_at__lt=until)
    columns = ("id", "comment", "answered_at") + (SENTIMENT_COLUMNS if sentiment else ())
    last_id = 0
    while True:
        rows = list(responses.filter(id__gt=last_id).order_by("id").values(*columns)[:batch_size])
        if not rows:
            break
        last_id = rows[-1]["id"]
        with transaction.atomic():
            _retag_batch(rows, matcher, considered, result)
            if sentiment:
                changed = []
                for row in rows:
                    row_ns = SimpleNamespace(**row)
                    text = analyse(row["comment"], fallback_score=response_score_sentiment(row_ns))
                    if (text.sentiment, text.sentiment_source, text.language) != (
                            row["sentiment"], row["sentiment_source"], row["language"]):
                        changed.append(SurveyResponse(id=row["id"], sentiment=text.sentiment,
                                                      sentiment_source=text.sentiment_source, language=text.language))
                if changed:
                    SurveyResponse.objects.bulk_update(changed, ["sentiment", "sentiment_source", "language"])
                    result.sentiment_updated += len(changed)
        result.scanned += len(rows)
        if progress is not None:
            progress(len(rows))
    return result


def _retag_batch(rows: list[dict], matcher, considered: list[int], result: RetagResult) -> None:
    if not considered:
        return
    ids = [row["id"] for row in rows]
    existing = {
        (link.response_id, link.theme_id): link
        for link in ResponseTheme.objects.filter(response_id__in=ids, theme_id__in=considered)
        .only("id", "response_id", "theme_id", "matches")
    }
    to_add, to_update, keep = [], [], set()
    for row in rows:
        for found in matcher.match(row["comment"]):
            key = (row["id"], found.theme_id)
            keep.add(key)
            link = existing.get(key)
            if link is None:
                to_add.append(ResponseTheme(response_id=row["id"], theme_id=found.theme_id,
                                            matches=list(found.matches), answered_at=row["answered_at"]))
            elif link.matches != list(found.matches):
                link.matches = list(found.matches)
                to_update.append(link)
    stale = [link.pk for key, link in existing.items() if key not in keep]
    if stale:
        result.removed += ResponseTheme.objects.filter(pk__in=stale).delete()[0]
    if to_add:
        ResponseTheme.objects.bulk_create(to_add, ignore_conflicts=True)
        result.added += len(to_add)
    if to_update:
        ResponseTheme.objects.bulk_update(to_update, ["matches"])
        result.updated += len(to_update)
