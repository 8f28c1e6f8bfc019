"""Writes for the follow-up app: recovery checks ("Did we put it right?") and recognition.

Recovery checks
---------------
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

Recognition
-----------
    recognition_for_alert(alert=...)  # from the praise alert hook, inside the recording transaction
    recognition_notify(recognition_id=...)  # the e-mail to the managers, once
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import unicodedata

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from core.process_cache import ProcessCache
from core.unit_of_work import insert
from cases.models import Case
from followup.models import Recognition, Verification
from surveys.models import Customer, SurveyResponse

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
    if customer.contact_opt_out:
        return Reason.OPTED_OUT
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


def _verification_message(verification: Verification, customer: Customer, case: Case) -> EmailMultiAlternatives:
    url = verify_url(verification.pk)
    context = {
        "customer_name": (customer.name or "").strip(),
        "recap": _recap(case), "url": url, "question": verification.question,
        "days": link_days(), "scale": range(11),
    }
    subject = " ".join(render_to_string("emails/verification-subject.txt", context).split())
    text = render_to_string("emails/verification-body.txt", context)
    html = render_to_string("emails/verification-body.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[customer.email])
    message.attach_alternative(html, "text/html")
    return message


def verification_send(*, verification_id: int, now: dt.datetime | None = None) -> str:
    """Send one pending check's e-mail and record it on the case. Returns "sent", "skipped" (not
    owed: already handled, another worker has it, or the customer may no longer be asked) or
    raises SendFailed after recording the error (the task retries)."""
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
        raise ValidationError({"answer": ["Choose yes or no."]})
    if text.isdigit() and 0 <= int(text) <= 10:
        return int(text)
    raise ValidationError({"answer": ["Choose a number from 0 to 10."]})


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
        raise ValidationError({"comment": [f"Keep the comment under {COMMENT_MAX} characters."]})
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
    case_verification_answer(case_id=verification.case_id, verification_id=verification.pk,
                             recovered=verification.recovered, answer=verification.answer_text, comment=comment,
                             at=now)
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


# --- recognition ----------------------------------------------------------------------------
LOCATIONS_CACHE_KEY = "followup:known_locations"
LOCATIONS_CACHE_SECONDS = 600
MIN_LOCATION_LENGTH = 3


def fold(text: str) -> str:
    """Lower case without accents, whitespace collapsed: "Zoë  MÜLLER" -> "zoe muller"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def _find(needle: str, haystack: str) -> int:
    """Position of `needle` in `haystack` as whole words (both folded), or -1."""
    if not needle:
        return -1
    match = re.search(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", haystack)
    return match.start() if match else -1


def is_promoter(response: SurveyResponse) -> bool:
    """NPS 9-10, or the top box of the CSAT scale."""
    if response.nps is not None:
        return response.nps >= 9
    if response.csat is not None:
        return response.csat >= (response.csat_scale_max or 5)
    return False


class StaffDirectory:
    """Who a comment can name, indexed for matching: active users' full names, and the first
    names of each team's active members; each folded name maps to the ids that carry it. Kept
    per process (`staff_directory()`), so recognising a praise costs no query."""

    def __init__(self, full_names: dict[str, set[int]], first_names: dict[int, dict[str, set[int]]]):
        self.full_names, self.first_names = full_names, first_names
        # Names by their first word: a comment is only compared with the names that could start
        # at one of its words, not with every user in the company.
        self._full_by_word = self._by_first_word(full_names)
        self._first_by_team = {team: self._by_first_word(names) for team, names in first_names.items()}

    @staticmethod
    def _by_first_word(names: dict[str, set[int]]) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for name in names:
            first = re.search(r"\w+", name)  # "jean-luc picard" under "jean", as the comment splits it
            index.setdefault(first.group() if first else "", []).append(name)
        return index

    @staticmethod
    def _found(folded: str, names: dict[str, set[int]], by_word: dict[str, list[str]]) -> dict[int, int]:
        found: dict[int, int] = {}
        words = set(re.findall(r"\w+", folded)) | {""}
        for word in words:
            for name in by_word.get(word, ()):
                ids = names[name]
                position = _find(name, folded)
                if position >= 0 and len(ids) == 1:
                    found[next(iter(ids))] = position
        return found

    def named(self, folded: str, team_id: int | None) -> int | None:
        found = self._found(folded, self.full_names, self._full_by_word)
        if not found and team_id in self.first_names:
            found = self._found(folded, self.first_names[team_id], self._first_by_team[team_id])
        if not found:
            return None
        best = min(found.values())
        winners = [uid for uid, position in found.items() if position == best]
        return winners[0] if len(winners) == 1 else None


def _load_staff_directory() -> StaffDirectory:
    full_names: dict[str, set[int]] = {}
    for uid, first, last in User.objects.filter(is_active=True).exclude(first_name="").exclude(last_name="") \
            .values_list("pk", "first_name", "last_name"):
        full_names.setdefault(fold(f"{first} {last}"), set()).add(uid)
    first_names: dict[int, dict[str, set[int]]] = {}
    for team_id, uid, first in Membership.objects.filter(user__is_active=True).exclude(user__first_name="") \
            .values_list("team_id", "user_id", "user__first_name"):
        first_names.setdefault(team_id, {}).setdefault(fold(first), set()).add(uid)
    return StaffDirectory(full_names, first_names)


_staff = ProcessCache("followup:staff-directory:version", _load_staff_directory,
                      check_seconds=lambda: settings.ALERT_RULES_CHECK_SECONDS, what="staff directory")


def staff_directory() -> StaffDirectory:
    return _staff.get()


def staff_changed() -> None:
    """After a user or membership change: this process reloads now, the others on their next check."""
    _staff.changed()


def named_user(comment: str, *, team_id: int | None) -> User | None:
    """The active user the comment names: a full name anywhere among active users, else a first
    name that is unique among the members of `team_id` (the response's team). Whole words, case
    and accents ignored; the earliest mention wins; a name two people share names nobody."""
    folded = fold(comment)
    if not folded:
        return None
    uid = staff_directory().named(folded, team_id)
    return User.objects.filter(pk=uid, is_active=True).first() if uid is not None else None


_locations_here: tuple[float, list[str]] | None = None  # (read at, values): this process's copy


def known_locations() -> list[str]:
    """Distinct SurveyResponse.location values, cached for LOCATIONS_CACHE_SECONDS in the shared
    cache; each process re-reads that copy at most every ALERT_RULES_CHECK_SECONDS (every praise
    alert asks, and a Redis round trip per promoter showed in the worker's profile)."""
    global _locations_here
    interval = settings.ALERT_RULES_CHECK_SECONDS
    here = _locations_here
    if here is not None and interval and time.monotonic() - here[0] < interval:
        return here[1]
    try:
        cached = cache.get(LOCATIONS_CACHE_KEY)
    except Exception:  # noqa: BLE001 - no cache: read the database
        cached = None
    if cached is not None:
        _locations_here = (time.monotonic(), cached)
        return cached
    values = sorted(set(
        SurveyResponse.objects.exclude(location="").order_by().values_list("location", flat=True).distinct()[:5000]
    ))
    try:
        cache.set(LOCATIONS_CACHE_KEY, values, LOCATIONS_CACHE_SECONDS)
    except Exception:  # noqa: BLE001
        logger.warning("known locations not cached")
    _locations_here = (time.monotonic(), values)
    return values


def named_location(response: SurveyResponse, comment: str) -> str:
    """The known location the comment names (the longest one named; the response's own location
    counts as known), or ""."""
    folded = fold(comment)
    candidates = set(known_locations())
    if response.location:
        candidates.add(response.location)
    named = [loc for loc in candidates if len(fold(loc)) >= MIN_LOCATION_LENGTH and _find(fold(loc), folded) >= 0]
    return max(named, key=lambda loc: (len(loc), loc == response.location)) if named else ""


def recognition_recipients(*, praised_user: User | None, team_id: int | None) -> tuple[list[User], list[User]]:
    """(to, cc): the managers of the praised person's teams (of the response's team for a
    location), with the person in copy; the person alone when they have no manager. Active users
    with an e-mail address only."""
    if praised_user is not None:
        team_ids = list(Membership.objects.filter(user=praised_user).values_list("team_id", flat=True))
    else:
        team_ids = [team_id] if team_id else []
    managers = list(
        User.objects.filter(memberships__team_id__in=team_ids, memberships__is_manager=True, is_active=True)
        .exclude(email="").distinct().order_by("pk")
    )
    person = praised_user if praised_user is not None and praised_user.is_active and praised_user.email else None
    to = [m for m in managers if person is None or m.pk != person.pk]
    cc = [person] if person is not None else []
    if not to and cc:
        to, cc = cc, []
    return to, cc


def recognition_for_alert(*, alert) -> Recognition | None:
    """From a praise alert on a promoter's response: if the comment (or the alert) names a member
    of staff or a location, record the recognition and e-mail it to the managers after commit.
    Idempotent per response. Runs inside the transaction that recorded the response."""
    response = alert.response
    if not is_promoter(response):
        return None
    if getattr(response, "just_recorded", False):  # recorded in this transaction: only this batch can have one
        if getattr(response, "recorded_recognition", None) is not None:
            return None
    elif Recognition.objects.filter(response_id=response.pk).exists():
        return None
    team_id = response.team_id
    if team_id is None:
        # Alerts are raised before cases routes the response (both on response_recorded): ask
        # routing for the team it is about to get (without touching the response: cases sets it).
        from cases.routing import route_team_id

        team_id = route_team_id(response)
    comment = response.comment or ""
    person = alert.praised_user if alert.praised_user_id else named_user(comment, team_id=team_id)
    location = "" if person is not None else named_location(response, comment)
    if person is None and not location:
        return None
    if person is not None:
        person_teams = list(Membership.objects.filter(user=person).order_by("team_id").values_list("team_id", flat=True))
        if person_teams and team_id not in person_teams:
            team_id = person_teams[0]
    to, cc = recognition_recipients(praised_user=person, team_id=team_id)
    score = response.nps if response.nps is not None else (int(response.csat) if response.csat is not None else None)
    fields = {
        "alert": alert, "praised_user": person, "location": location, "team_id": team_id, "quote": comment,
        "score": score, "created_at": response.answered_at if response.answered_at < timezone.now() else timezone.now(),
        "recipients": [u.pk for u in to + cc],
    }
    if getattr(response, "just_recorded", False):  # a new response has no recognition yet
        recognition, created = insert(Recognition(response=response, **fields)), True
        response.recorded_recognition = recognition
    else:
        recognition, created = Recognition.objects.get_or_create(response=response, defaults=fields)
    if created and recognition.recipients:
        transaction.on_commit(lambda pk=recognition.pk: recognition_notify_enqueue(pk))
    return recognition if created else None


def recognition_notify_enqueue(recognition_id: int) -> None:
    from followup.tasks import recognition_notify_task

    try:
        recognition_notify_task.delay(recognition_id)
    except Exception as exc:
        if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            raise
        logger.warning("recognition %s e-mail not enqueued (%s); the sweep will send it", recognition_id, exc)


def recognition_notify(*, recognition_id: int) -> str:
    """E-mail a recognition to its recipients once. The claim (notified_at set while sending)
    lets one run send it; a transport error clears the claim and raises, so the task retries."""
    now = timezone.now()
    claimed = Recognition.objects.filter(pk=recognition_id, notified_at__isnull=True).exclude(recipients=[]).update(
        notified_at=now)
    if not claimed:
        return "skipped"
    recognition = Recognition.objects.select_related("response", "response__customer", "praised_user", "team").get(
        pk=recognition_id)
    people = {u.pk: u for u in User.objects.filter(pk__in=recognition.recipients, is_active=True).exclude(email="")}
    person_id = recognition.praised_user_id
    to = [u for pk, u in sorted(people.items()) if pk != person_id]
    cc = [people[person_id]] if person_id in people else []
    if not to:
        to, cc = cc, []
    if not to:
        return "skipped"
    response = recognition.response
    context = {
        "recognition": recognition, "response": response, "praised_user": recognition.praised_user,
        "location": recognition.location, "site_url": settings.SITE_URL,
        "feed_url": settings.SITE_URL + reverse("followup:recognition"),
        "customer_name": (response.customer.name if response.customer else "") or "",
        "to_person": [u.pk for u in to] == [person_id],
    }
    subject = " ".join(render_to_string("emails/recognition-subject.txt", context).split())
    message = EmailMultiAlternatives(subject=subject, body=render_to_string("emails/recognition-body.txt", context),
                                     to=[u.email for u in to], cc=[u.email for u in cc])
    message.attach_alternative(render_to_string("emails/recognition-body.html", context), "text/html")
    try:
        with get_connection() as connection:
            connection.send_messages([message])
    except Exception:
        Recognition.objects.filter(pk=recognition_id, notified_at=now).update(notified_at=None)
        raise
    return "sent"


def recognitions_owed(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Recognitions whose e-mail was never sent (broker down, or retries used up), from the last day."""
    now = now or timezone.now()
    return list(
        Recognition.objects.filter(notified_at__isnull=True, created_at__gte=now - dt.timedelta(days=1),
                                   created_at__lt=now - dt.timedelta(minutes=1))
        .exclude(recipients=[]).order_by("created_at").values_list("pk", flat=True)[:limit]
    )


# --- privacy --------------------------------------------------------------------------------
@transaction.atomic
def followup_erase_customer(*, customer_id: int) -> dict:
    """Blank what this app holds of a customer's words and address (for privacy.customer_erase):
    the e-mail and comment of their recovery checks, the quote of recognitions from their responses."""
    checks = Verification.objects.filter(customer_id=customer_id).filter(~Q(email="") | ~Q(comment="")).update(
        email="", comment="")
    quotes = Recognition.objects.filter(response__customer_id=customer_id).exclude(quote="").update(quote="")
    return {"verifications": checks, "recognitions": quotes}
