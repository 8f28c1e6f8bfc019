"""Writes for the surveys stage: sources, deliveries and the response recorder.

The path of a delivery: the webhook view verifies it and calls `delivery_store` (committed before
the 202); `process_delivery_task` calls `delivery_process`, which claims the row, runs the
vendor adapter (fetching thin webhooks first) and calls `response_record` in one transaction."""

from __future__ import annotations

import base64
import logging
import secrets as pysecrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from surveys.adapters import FetchRequest, Ignored, MappingError, PayloadError, get_adapter, parse_body
from surveys.models import Customer, Survey, SurveyResponse, Vendor, WebhookDelivery, WebhookSource
from surveys.normalized import CustomerIdentity, NormalizedResponse
from surveys.signals import response_recorded

logger = logging.getLogger("surveys.webhooks")

# Headers worth keeping with a delivery (for the console and for re-verification by a person).
KEPT_HEADERS = (
    "content-type", "user-agent", "webhook-id", "webhook-timestamp", "typeform-signature",
    "x-delighted-webhook-signature", "sm-apikey", "sm-signature", "x-request-id", "x-forwarded-for",
)


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


def delivery_store(
    *, source: WebhookSource, delivery_id: str, content_type: str, headers: dict, body: bytes
) -> tuple[WebhookDelivery, bool]:
    """Store a verified delivery (committed when this returns) or return the one with the same id."""
    kept = {k: v for k, v in headers.items() if k in KEPT_HEADERS or k in _source_headers(source)}
    delivery = WebhookDelivery(
        source=source, delivery_id=delivery_id[:255], content_type=content_type[:255], headers=kept, body=body
    )
    try:
        if transaction.get_connection().in_atomic_block:
            # Called inside a transaction (an import, a test): a savepoint keeps a duplicate from
            # breaking it, and the task is published once the caller commits.
            with transaction.atomic():
                delivery.save()
                transaction.on_commit(lambda: delivery_enqueue(delivery.pk))
        else:
            # The webhook request (autocommit): one INSERT that commits by itself, one round trip
            # instead of BEGIN, INSERT, COMMIT. The row is durable before the task is published.
            delivery.save()
            if settings.WEBHOOK_PUBLISH_IN_BACKGROUND:
                from surveys.publisher import publisher

                publisher.submit(delivery.pk)  # batched, off the request (surveys.publisher)
            else:
                delivery_enqueue(delivery.pk)
    except IntegrityError:
        original = WebhookDelivery.objects.filter(source=source, delivery_id=delivery.delivery_id).first()
        if original is None:
            raise
        return original, False
    return delivery, True


def _source_headers(source: WebhookSource) -> set[str]:
    auth = source.auth or {}
    return {str(auth[k]).lower() for k in ("header", "timestamp_header", "delivery_id_header") if auth.get(k)}


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
    """Claim, normalize, record. Returns the final status (or "skipped" when someone else has it)."""
    from surveys.vendor_api import TransientError, fetch

    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now), pk=delivery_pk, status=WebhookDelivery.Status.PENDING
    ).update(status=WebhookDelivery.Status.PROCESSING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("source").get(pk=delivery_pk)
    try:
        if delivery.fetched is None and (request := delivery_fetch_request(delivery)) is not None:
            delivery.fetched = fetch(request)  # slow I/O outside any transaction
            WebhookDelivery.objects.filter(pk=delivery.pk).update(fetched=delivery.fetched)
        result = delivery_normalize(delivery)
        with transaction.atomic():
            response = None
            if not isinstance(result, Ignored):
                response, _created = response_record(source=delivery.source, normalized=result, delivery=delivery)
            done = WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PROCESSING).update(
                status=WebhookDelivery.Status.PROCESSED, processed_at=timezone.now(), response=response, error="",
                note=result.reason[:255] if isinstance(result, Ignored) else "", not_before=None,
            )
            if not done:  # the re-drive took it back meanwhile: let the newer run record it
                transaction.set_rollback(True)
                return "skipped"
        return WebhookDelivery.Status.PROCESSED
    except (MappingError, PayloadError, InvalidResponse) as exc:
        _delivery_fail(delivery, str(exc))
        return WebhookDelivery.Status.FAILED
    except TransientError as exc:
        return _delivery_retry(delivery, str(exc))
    except Exception as exc:
        from django.db import DatabaseError

        if isinstance(exc, DatabaseError):
            return _delivery_retry(delivery, f"database error: {exc}")
        logger.exception("delivery %s failed unexpectedly", delivery.pk)
        _delivery_fail(delivery, f"Internal error ({exc.__class__.__name__}: {exc}); replay once it is fixed.")
        return WebhookDelivery.Status.FAILED


def _delivery_fail(delivery: WebhookDelivery, reason: str) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.FAILED, error=reason[:2000], processed_at=timezone.now(), not_before=None
    )


def _delivery_retry(delivery: WebhookDelivery, reason: str) -> str:
    attempts = delivery.attempts  # read after the claim, which counted this attempt
    if attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        _delivery_fail(delivery, f"Gave up after {attempts} attempts: {reason}")
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

_analyzer = None


def sentiment_of(comment: str) -> float | None:
    global _analyzer
    if not comment.strip():
        return None
    if _analyzer is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _analyzer = SentimentIntensityAnalyzer()
    return round(_analyzer.polarity_scores(comment)["compound"], 4)


def _validate(normalized: NormalizedResponse) -> None:
    if not normalized.scores:
        raise InvalidResponse("The response has no score.")
    for score in normalized.scores:
        if not score.scale_min <= score.value <= score.scale_max:
            raise InvalidResponse(f"{score.key} {score.value} is outside its {score.scale_min}–{score.scale_max} scale.")
        if score.metric == "nps" and (score.value != int(score.value) or (score.scale_min, score.scale_max) != (0, 10)):
            raise InvalidResponse(f"NPS must be a whole number from 0 to 10, got {score.value}.")


@transaction.atomic
def response_record(
    *, source: WebhookSource, normalized: NormalizedResponse, delivery: WebhookDelivery | None = None
) -> tuple[SurveyResponse, bool]:
    """Store one normalized response (customer and survey found or created) and announce it.

    A duplicate (same source and response id) returns the stored one with created=False and no
    signal; it only fills a comment the first delivery did not have (Delighted sends the score
    first and the comment in a later `survey_response.updated`)."""
    existing = SurveyResponse.objects.filter(source=source, external_id=normalized.response_id).first()
    if existing is not None:
        _response_fill_comment(existing, normalized)
        return existing, False
    _validate(normalized)
    customer = customer_find_or_create(normalized.customer)
    survey = survey_find_or_create(source=source, external_id=normalized.survey_id, name=normalized.survey_name)
    response = SurveyResponse(
        source=source, survey=survey, customer=customer, external_id=normalized.response_id,
        answered_at=normalized.answered_at, comment=normalized.comment, sentiment=sentiment_of(normalized.comment),
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
    try:
        with transaction.atomic():
            response.save()
    except IntegrityError:
        existing = SurveyResponse.objects.filter(source=source, external_id=normalized.response_id).first()
        if existing is None:
            raise
        return existing, False
    response_recorded.send(sender=SurveyResponse, response=response)
    return response, True


def _response_fill_comment(response: SurveyResponse, normalized: NormalizedResponse) -> None:
    if normalized.comment and not response.comment:
        SurveyResponse.objects.filter(pk=response.pk, comment="").update(
            comment=normalized.comment, sentiment=sentiment_of(normalized.comment)
        )
        response.refresh_from_db(fields=["comment", "sentiment"])


def survey_find_or_create(*, source: WebhookSource, external_id: str, name: str) -> Survey:
    for _ in range(3):
        survey = Survey.objects.filter(source=source, external_id=external_id).first()
        if survey is not None:
            if name and survey.name != name and survey.name == survey.external_id:
                Survey.objects.filter(pk=survey.pk).update(name=name)
            return survey
        try:
            with transaction.atomic():
                return Survey.objects.create(source=source, external_id=external_id, name=name or external_id)
        except IntegrityError:
            continue
    raise IntegrityError(f"Could not find or create survey {external_id!r}")


def customer_find_or_create(identity: CustomerIdentity) -> Customer | None:
    """External id first, then e-mail (case-insensitive); created when neither matches.

    Race-safe: the unique constraints decide, and a lost race re-reads the winner's row."""
    if not any([identity.external_id, identity.email, identity.name, identity.phone]):
        return None
    for _ in range(3):
        customer = _customer_match(identity)
        if customer is None:
            try:
                with transaction.atomic():
                    customer = Customer.objects.create(
                        external_id=identity.external_id or None, email=identity.email, name=identity.name,
                        phone=identity.phone, tier=identity.tier, segment=identity.segment,
                        account_value=identity.account_value, attributes=identity.attributes or {},
                    )
                return customer
            except IntegrityError:
                continue  # someone created it meanwhile (or the e-mail belongs to another id): match again
        _customer_enrich(customer, identity)
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
    if not changed and not ids:
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
