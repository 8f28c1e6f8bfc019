"""Recovery checks ("Did we put it right?"): creating them, sending, answering, opting out.

    verifications_create_due(now=...)      # the sweep: one check per (case, round), set-based
    verification_send(verification_id=...) # the e-mail, once; the case timeline records it
    verification_answer(verification_id=..., value=..., comment=..., opt_out=...)
    verifications_expire(now=...)          # sent checks whose link ran out
    customer_opt_out(customer_id=..., via=...)

A check is created for every case closed as "resolved with the customer" at least
VERIFICATION_DELAY_MINUTES ago (and at most MAX_AGE ago: enabling the feature never mails
customers about last year's cases). `round` is the case's reopen count, so a case reopened and
closed again is asked again, once per closure. The unique (case, round) constraint and
INSERT ... ON CONFLICT DO NOTHING make two sweeps at once create one row. A customer who may not
be asked still gets a row, status "skipped" with the reason (no e-mail, opted out, erased, or
asked in the last VERIFICATION_FATIGUE_DAYS days), so reporting can say why checks were not sent.

Sending locks the check row (SKIP LOCKED: a second worker with the same id moves on), then the
customer row (two checks for one customer are sent one after the other, so fatigue is decided
once), then the case, re-checks everything, sends and records. Lock order everywhere in this
module: check -> customer -> case.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.preferences import customer_language
from cases.models import Case
from contactpolicy.models import ContactEvent
from contactpolicy.services import ContactRow, Purpose, contact_decision, contact_record
from followup.models import Verification
from surveys.consent import Consent, ContactChannel, channel_consent
from surveys.models import Customer

logger = logging.getLogger(__name__)

TOKEN_SALT = "followup.verify"
# Closures older than this are never asked about (the first sweep after enabling the feature,
# or after a long outage, stays within recent cases).
MAX_AGE = dt.timedelta(days=7)
SWEEP_BATCH = 1000
# A check the mail server refused this many times is marked failed (the task's retries and the
# sweep's re-queuing both count).
MAX_SEND_ATTEMPTS = 6
COMMENT_MAX = 2000
RECOVERED_FROM = 7  # on the 0-10 scale, this or more counts as "put right"


# --- settings -------------------------------------------------------------------------------
def question_style() -> str:
    """VERIFICATION_QUESTION: "scale" (0-10, the default) or "yes_no"."""
    value = getattr(settings, "VERIFICATION_QUESTION", Verification.Question.SCALE)
    return value if value in Verification.Question.values else Verification.Question.SCALE


def link_days() -> int:
    return int(getattr(settings, "VERIFICATION_LINK_DAYS", 14))


def fatigue_days() -> int:
    return int(getattr(settings, "VERIFICATION_FATIGUE_DAYS", 30))


def delay() -> dt.timedelta:
    return dt.timedelta(minutes=int(getattr(settings, "VERIFICATION_DELAY_MINUTES", 60)))


# --- the link -------------------------------------------------------------------------------
class LinkInvalid(Exception):
    """The link was tampered with, or points at no check that was sent."""


class LinkExpired(Exception):
    """The link is older than VERIFICATION_LINK_DAYS (or the check expired)."""


class AlreadyAnswered(Exception):
    def __init__(self, verification: Verification):
        super().__init__("This check was already answered.")
        self.verification = verification


def make_token(verification_id: int) -> str:
    """A signed, timestamped token carrying the check's id (django.core.signing)."""
    return signing.dumps(verification_id, salt=TOKEN_SALT)


def read_token(token: str) -> int:
    """The check id in `token`; LinkExpired past VERIFICATION_LINK_DAYS, LinkInvalid if tampered."""
    try:
        value = signing.loads(token, salt=TOKEN_SALT, max_age=dt.timedelta(days=link_days()))
    except signing.SignatureExpired as exc:
        raise LinkExpired() from exc
    except (signing.BadSignature, ValueError) as exc:
        raise LinkInvalid() from exc
    if not isinstance(value, int):
        raise LinkInvalid()
    return value


def verify_url(verification_id: int) -> str:
    return settings.SITE_URL + reverse("followup:verify", args=[make_token(verification_id)])


# --- eligibility ----------------------------------------------------------------------------
def _standing_reason(customer: Customer | None) -> str:
    """Why this customer may never be asked (no query): no customer or address, erased, opted out."""
    Reason = Verification.SkipReason
    if customer is None:
        return Reason.NO_EMAIL
    if customer.erased_at is not None:
        return Reason.ERASED
    if customer.contact_opt_out or channel_consent(customer, ContactChannel.EMAIL) == Consent.REFUSED:
        return Reason.OPTED_OUT  # no contact at all, or none by e-mail (surveys.consent)
    if not customer.email:
        return Reason.NO_EMAIL
    return Reason.NONE


def skip_reason(customer: Customer | None, *, now: dt.datetime, exclude_id: int | None = None) -> str:
    """Why this customer may not be asked now ("" when they may): the standing reasons, or a
    check sent to them in the last VERIFICATION_FATIGUE_DAYS days (survey fatigue)."""
    reason = _standing_reason(customer)
    if reason:
        return reason
    recent = Verification.objects.filter(customer=customer, sent_at__gte=now - dt.timedelta(days=fatigue_days()))
    if exclude_id is not None:
        recent = recent.exclude(pk=exclude_id)
    return Verification.SkipReason.FATIGUE if recent.exists() else Verification.SkipReason.NONE


def _due_cases(now: dt.datetime):
    """Closed as resolved within [now - MAX_AGE, now - delay], and not yet checked for this closure."""
    already = Verification.objects.filter(case=OuterRef("pk"), round=OuterRef("reopen_count"))
    return (
        Case.objects.filter(
            status=Case.Status.CLOSED, outcome=Case.Outcome.RESOLVED,
            closed_at__lte=now - delay(), closed_at__gte=now - MAX_AGE,
        )
        .filter(~Exists(already))
        .select_related("customer", "response")
        .order_by("closed_at", "pk")
    )


def verifications_create_due(*, now: dt.datetime | None = None, limit: int = SWEEP_BATCH) -> dict:
    """Create the checks that are due: pending for customers who may be asked, skipped (with the
    reason) for the others. Idempotent and safe to run concurrently. Returns counts."""
    now = now or timezone.now()
    cases = list(_due_cases(now)[:limit])
    if not cases:
        return {"created": 0, "pending": 0, "skipped": 0}
    customer_ids = {c.customer_id for c in cases if c.customer_id}
    asked_recently = set(
        Verification.objects.filter(customer_id__in=customer_ids,
                                    sent_at__gte=now - dt.timedelta(days=fatigue_days()))
        .values_list("customer_id", flat=True)
    )
    question = question_style()
    rows, asking = [], set()
    for case in cases:
        customer = case.customer
        reason = _standing_reason(customer)
        if not reason and (customer.pk in asked_recently or customer.pk in asking):
            reason = Verification.SkipReason.FATIGUE  # one question per customer at a time
        if not reason:
            asking.add(customer.pk)
        rows.append(Verification(
            case=case, round=case.reopen_count, customer=customer, team_id=case.team_id,
            root_cause_id=case.root_cause_id, touchpoint=case.response.touchpoint,
            email=customer.email if not reason else "", question=question, skip_reason=reason, created_at=now,
            status=Verification.Status.SKIPPED if reason else Verification.Status.PENDING,
        ))
    with transaction.atomic():
        # ON CONFLICT DO NOTHING: a concurrent sweep that inserted a (case, round) first wins.
        Verification.objects.bulk_create(rows, ignore_conflicts=True)
    mine = Verification.objects.filter(case_id__in=[c.pk for c in cases], created_at=now)
    pending = mine.filter(status=Verification.Status.PENDING).count()
    skipped = mine.filter(status=Verification.Status.SKIPPED).count()
    return {"created": pending + skipped, "pending": pending, "skipped": skipped}


def verifications_owed(*, limit: int = SWEEP_BATCH) -> list[int]:
    """Ids of checks waiting to be sent, oldest first (the sweep hands each to the send task)."""
    return list(
        Verification.objects.filter(status=Verification.Status.PENDING)
        .order_by("created_at", "pk").values_list("pk", flat=True)[:limit]
    )


def verifications_expire(*, now: dt.datetime | None = None) -> int:
    """Sent checks whose link ran out become expired (unanswered)."""
    now = now or timezone.now()
    return Verification.objects.filter(status=Verification.Status.SENT, expires_at__lt=now).update(
        status=Verification.Status.EXPIRED
    )


# --- sending --------------------------------------------------------------------------------
class SendFailed(Exception):
    """The mail transport failed; the task retries."""


def _recap(case: Case) -> dict:
    """What the e-mail may say about the case: the customer's own words and where, never the
    team's internal notes, resolution text or root cause."""
    response = case.response
    comment = " ".join((response.comment or "").split())
    return {
        "touchpoint": response.touchpoint.replace("_", " "),
        "location": response.location,
        "answered_at": response.answered_at,
        "comment": comment[:200] + ("…" if len(comment) > 200 else ""),
    }


def case_customer_language(case: Case) -> str:
    """The language the case's customer reads (accounts.preferences.customer_language)."""
    return customer_language(case.response.language if case.response_id else "", case.team.language)


@contextmanager
def speaking_to_customer(case: Case):
    """The customer's language, and the team's zone for dates (the customer's own is unknown)."""
    try:
        zone = ZoneInfo(case.team.timezone)
    except Exception:  # noqa: BLE001 - a broken zone name: the server's
        zone = timezone.get_default_timezone()
    with translation.override(case_customer_language(case)), timezone.override(zone):
        yield


def verification_language(verification_id: int) -> str | None:
    """The language of the customer a check asks (the public page speaks it); None if unknown."""
    case = (Case.objects.select_related("response", "team")
            .filter(verifications__pk=verification_id).first())
    return case_customer_language(case) if case is not None else None


def _verification_message(verification: Verification, customer: Customer, case: Case) -> EmailMultiAlternatives:
    url = verify_url(verification.pk)
    context = {
        "customer_name": (customer.name or "").strip(),
        "recap": _recap(case), "url": url, "question": verification.question,
        "days": link_days(), "scale": range(11),
    }
    with speaking_to_customer(case):
        subject = " ".join(render_to_string("emails/verification-subject.txt", context).split())
        text = render_to_string("emails/verification-body.txt", context)
        html = render_to_string("emails/verification-body.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[customer.email])
    message.attach_alternative(html, "text/html")
    return message


def verification_send(*, verification_id: int, now: dt.datetime | None = None) -> str:
    """Send one pending check's e-mail and record it on the case and in the contact policy's
    ledger. Returns "sent", "skipped" (not owed: already handled, another worker has it, or the
    customer may no longer be asked, the contact policy included), "deferred" (the customer's
    quiet hours: still pending, a later sweep sends it) or raises SendFailed after recording the
    error (the task retries)."""
    from cases.services import case_verification_sent

    now = now or timezone.now()
    error = None
    with transaction.atomic():
        verification = (
            Verification.objects.select_for_update(skip_locked=True)
            .filter(pk=verification_id, status=Verification.Status.PENDING).first()
        )
        if verification is None:
            return "skipped"
        customer = (
            Customer.objects.select_for_update().filter(pk=verification.customer_id).first()
            if verification.customer_id else None
        )
        case = Case.objects.select_for_update().get(pk=verification.case_id)
        reason = skip_reason(customer, now=now, exclude_id=verification.pk)
        if not reason and (case.status != Case.Status.CLOSED or case.reopen_count != verification.round):
            reason = Verification.SkipReason.REOPENED
        if not reason:
            decision = contact_decision(customer, purpose=Purpose.RECOVERY_CHECK, at=now, case_id=case.pk)
            codes = {r.code for r in decision.reasons}
            if codes == {"quiet_hours"}:
                return "deferred"  # still pending: the next sweep after the quiet hours sends it
            if codes:  # the contact policy's limit (opt-outs were caught above)
                reason = Verification.SkipReason.POLICY
        if reason:
            verification.status = Verification.Status.SKIPPED
            verification.skip_reason = reason
            verification.save(update_fields=["status", "skip_reason"])
            return "skipped"
        verification.attempts += 1
        try:
            message = _verification_message(verification, customer, case)
            with get_connection() as connection:
                connection.send_messages([message])
        except Exception as exc:  # noqa: BLE001 - recorded, then raised outside the transaction
            error = f"{exc.__class__.__name__}: {exc}"[:2000]
            verification.error = error
            if verification.attempts >= MAX_SEND_ATTEMPTS:  # the sweep stops handing it out
                verification.status = Verification.Status.FAILED
                verification.error = f"Gave up after {verification.attempts} attempts: {error}"[:2000]
            verification.save(update_fields=["attempts", "error", "status"])
        else:
            verification.status = Verification.Status.SENT
            verification.email = customer.email
            verification.sent_at = now
            verification.expires_at = now + dt.timedelta(days=link_days())
            verification.error = ""
            verification.save(update_fields=["attempts", "status", "email", "sent_at", "expires_at", "error"])
            case_verification_sent(case_id=case.pk, verification_id=verification.pk, address=customer.email, at=now)
            contact_record(ContactRow(sent_at=now, customer_id=customer.pk, sender="closeloop",
                                      external_id=f"verification-{verification.pk}",
                                      kind=ContactEvent.Kind.RECOVERY_CHECK))
    if error is not None:
        raise SendFailed(error)
    return "sent"


def verification_give_up(*, verification_id: int, error: str) -> None:
    """After the last retry: the check could not be sent."""
    Verification.objects.filter(pk=verification_id, status=Verification.Status.PENDING).update(
        status=Verification.Status.FAILED, error=f"Gave up: {error}"[:2000]
    )


# --- answering ------------------------------------------------------------------------------
def parse_answer(question: str, raw) -> int:
    """The submitted answer as a stored value (0-10, or 1/0 for yes/no); ValidationError otherwise."""
    text = str(raw if raw is not None else "").strip().lower()
    if question == Verification.Question.YES_NO:
        if text in ("yes", "1"):
            return 1
        if text in ("no", "0"):
            return 0
        raise ValidationError({"answer": [_("Choose yes or no.")]})
    if text in {str(n) for n in range(11)}:
        return int(text)
    raise ValidationError({"answer": [_("Choose a number from 0 to 10.")]})


def is_recovered(question: str, value: int) -> bool:
    return value == 1 if question == Verification.Question.YES_NO else value >= RECOVERED_FROM


def verification_for_answer(*, verification_id: int, now: dt.datetime | None = None) -> Verification:
    """The check a link points at, if it can still be answered (or was: AlreadyAnswered)."""
    now = now or timezone.now()
    verification = Verification.objects.filter(pk=verification_id).first()
    return _answerable(verification, now)


def _answerable(verification: Verification | None, now: dt.datetime) -> Verification:
    if verification is None or verification.status in (
            Verification.Status.PENDING, Verification.Status.SKIPPED, Verification.Status.FAILED):
        raise LinkInvalid()
    if verification.status == Verification.Status.ANSWERED:
        raise AlreadyAnswered(verification)
    if verification.status == Verification.Status.EXPIRED or (
            verification.expires_at is not None and verification.expires_at < now):
        raise LinkExpired()
    return verification


@transaction.atomic
def verification_answer(
    *, verification_id: int, value=None, comment: str = "", opt_out: bool = False, at: dt.datetime | None = None,
) -> Verification:
    """Record the customer's answer (once) and put it on the case timeline; a "not put right"
    answer reopens the case for the same team. `opt_out` also stops further contact. With no
    `value` and `opt_out`, only the opt-out is recorded."""
    from cases.services import case_verification_answer

    now = at or timezone.now()
    verification = _answerable(Verification.objects.select_for_update().filter(pk=verification_id).first(), now)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ValidationError({"comment": [_("Keep the comment under %(limit)s characters.") % {"limit": COMMENT_MAX}]})
    answered = value is not None and str(value).strip() != ""
    if not answered and not opt_out:
        parse_answer(verification.question, value)  # raises: no answer chosen
    answer_value = parse_answer(verification.question, value) if answered else None
    if opt_out and verification.customer_id:
        customer_opt_out(customer_id=verification.customer_id, via=f"recovery check {verification.pk}", at=now)
    if not answered:
        return verification
    verification.answer_value = answer_value
    verification.recovered = is_recovered(verification.question, answer_value)
    verification.comment = comment
    verification.answered_at = now
    verification.status = Verification.Status.ANSWERED
    verification.save(update_fields=["answer_value", "recovered", "comment", "answered_at", "status"])
    with translation.override(settings.LANGUAGE_CODE):  # the timeline keeps it as data, in one language
        answer = verification.answer_text
    case_verification_answer(case_id=verification.case_id, verification_id=verification.pk,
                             recovered=verification.recovered, answer=answer, comment=comment, at=now)
    return verification


@transaction.atomic
def customer_opt_out(*, customer_id: int, via: str, at: dt.datetime | None = None) -> bool:
    """The customer asked not to be contacted again: Customer.contact_opt_out, with when and how
    it was asked for kept in the customer's attributes ("contact_opt_out"). Returns False when
    they had already opted out."""
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None or customer.contact_opt_out:
        return False
    now = at or timezone.now()
    customer.contact_opt_out = True
    customer.attributes = {**(customer.attributes or {}),
                           "contact_opt_out": {"at": now.isoformat(), "via": via[:120]}}
    customer.save(update_fields=["contact_opt_out", "attributes", "updated_at"])
    logger.info("customer %s opted out of contact (%s)", customer_id, via)
    return True

