"""Case notifications: who hears about what, and how a queued row is delivered.

Rows are queued in the Notification outbox inside the transaction that caused them (unique per
case, kind, channel, address and period, so queuing twice is a no-op) and delivered after commit
by cases.tasks (e-mail through Django's mail backend; Slack and Microsoft Teams through their
incoming webhooks). A failed delivery goes back to pending with a backoff; the every-minute sweep
picks it up again, up to MAX_ATTEMPTS.

    enabled_users(user_ids, kind) -> set[int]            # preferences, one query
    build(case_id, kind, users, period, team=...) -> [Notification]
    deliver(notification_id) -> bool                      # claim, send, record
    deliver_claimed(notification_ids) -> int              # a claimed batch: one read, one UPDATE
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import ngettext_lazy

from accounts.preferences import speaking_to
from cases import live
from cases.models import Case, Notification, NotificationKind, NotificationPreference
from core import batching, outbound, unit_of_work
from core.queueing import enqueue

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
WEBHOOK_TIMEOUT = (3, 10)  # connect, read seconds
STUCK_AFTER = dt.timedelta(minutes=10)

# Which kinds go to a team's Slack / Teams channel.
TEAM_CHANNEL_KINDS = {NotificationKind.NEW_CASE, NotificationKind.OVERDUE, NotificationKind.ESCALATED}


class TransportError(Exception):
    """A delivery failed in a way worth retrying."""


class HeldBack(Exception):
    """Not sent, and not to be retried: the mail-loop guard's hourly allowance for automatic
    mails to this address is spent (cases.mail.outgoing.allow_automatic)."""


class NotificationsOff:
    """Per batch (core.unit_of_work.UnitOfWork.state): who switched each kind off, read once per
    kind for everybody instead of once per case."""

    def __init__(self, batch):
        self._by_kind: dict[str, set[int]] = {}

    def users(self, kind: str) -> set[int]:
        off = self._by_kind.get(kind)
        if off is None:
            off = self._by_kind[kind] = set(NotificationPreference.objects.filter(
                kind=kind, enabled=False).values_list("user_id", flat=True))
        return off


def enabled_users(user_ids, kind: str) -> set[int]:
    """The users among `user_ids` who have `kind` switched on (no preference row means on)."""
    user_ids = {uid for uid in user_ids if uid}
    if not user_ids:
        return set()
    batch = unit_of_work.current()
    if batch is not None:  # a worker's batch asks once per kind, for everybody
        return user_ids - batch.state(NotificationsOff).users(kind)
    off = set(
        NotificationPreference.objects.filter(user_id__in=user_ids, kind=kind, enabled=False).values_list(
            "user_id", flat=True
        )
    )
    return user_ids - off


def user_wants(user, kind: str) -> bool:
    return bool(user) and user.pk in enabled_users([user.pk], kind)


def email_row(*, case_id, kind, user_id, email, period, context=None) -> Notification | None:
    if not email:
        return None
    return Notification(
        case_id=case_id, kind=kind, channel=Notification.Channel.EMAIL, recipient_id=user_id,
        address=email, period=period, context=context or {},
    )


def team_channel_rows(*, case_id, kind, team, period) -> list[Notification]:
    """Rows for the team's Slack and Microsoft Teams channels (when configured)."""
    if kind not in TEAM_CHANNEL_KINDS:
        return []
    rows = []
    if team.slack_webhook_url:
        rows.append(Notification(case_id=case_id, kind=kind, channel=Notification.Channel.SLACK,
                                 address=team.slack_webhook_url, period=period))
    if team.msteams_webhook_url:
        rows.append(Notification(case_id=case_id, kind=kind, channel=Notification.Channel.MSTEAMS,
                                 address=team.msteams_webhook_url, period=period))
    return rows


def queue(rows: list[Notification]) -> None:
    """Insert rows (duplicates are ignored) and deliver each after commit."""
    rows = [r for r in rows if r is not None]
    if not rows:
        return
    unit_of_work.insert_all(rows, ignore_conflicts=True)  # in a worker's batch, with the batch's other rows
    # In-app rows (cases.inapp): the recipients' open pages update their bell after commit.
    live.touch(user_ids=[r.recipient_id for r in rows if r.channel == Notification.Channel.IN_APP])
    dispatch_on_commit()


# The delivery task, queued by name (core.queueing): cases.tasks imports this module, never the reverse.
DISPATCH_TASK = "cases.tasks.notifications_dispatch_task"

_dispatch_suppressed: contextvars.ContextVar[bool] = contextvars.ContextVar("cases_no_dispatch", default=False)


@contextlib.contextmanager
def no_dispatch():
    """Queue rows but enqueue no delivery task (the demo loader, which may run before Redis)."""
    token = _dispatch_suppressed.set(True)
    try:
        yield
    finally:
        _dispatch_suppressed.reset(token)


def _enqueue_dispatch() -> None:
    # Inside a batch (core.batching) one dispatch run after the batch delivers every row it queued.
    batching.enqueue("cases.dispatch", None, send_one=_send_dispatch, send_many=_send_dispatch)


def _send_dispatch(_items=None) -> None:
    # Broker down: the rows wait in the outbox; the every-minute sweep dispatches them.
    enqueue(DISPATCH_TASK, if_down="the next sweep will")


def dispatch_on_commit() -> None:
    """After commit, deliver what was queued. If the broker is down the rows stay pending and
    the every-minute sweep's dispatch picks them up."""
    if _dispatch_suppressed.get():
        return
    transaction.on_commit(_enqueue_dispatch)


# --- delivery -------------------------------------------------------------------------------
def claim(notification_id: int) -> bool:
    """Mark one pending row as being sent; False when another worker has it or it is done."""
    return bool(
        Notification.objects.filter(pk=notification_id, status=Notification.Status.PENDING).update(
            status=Notification.Status.SENDING, next_attempt_at=timezone.now()
        )
    )


def claim_batch(limit: int = 200) -> list[int]:
    """Claim up to `limit` due pending rows (rows another worker holds are skipped)."""
    now = timezone.now()
    # Rows stuck in "sending" (the worker died mid-send) go back to pending.
    Notification.objects.filter(status=Notification.Status.SENDING, next_attempt_at__lt=now - STUCK_AFTER).update(
        status=Notification.Status.PENDING
    )
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status=Notification.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        Notification.objects.filter(pk__in=ids).update(status=Notification.Status.SENDING, next_attempt_at=now)
    return ids


def deliver(notification_id: int, *, claimed: bool = False) -> bool:
    """Send one row. True when sent; False when not ours, or failed (then rescheduled or failed)."""
    if not claimed and not claim(notification_id):
        return False
    return deliver_claimed([notification_id]) == 1


def deliver_claimed(notification_ids: list[int]) -> int:
    """Send rows this worker claimed: loaded in one query, e-mails through one mail connection,
    the sent ones recorded in one UPDATE; a failed row is rescheduled (or failed) on its own.
    Returns how many were sent."""
    rows = list(Notification.objects.select_related(
        "case", "case__team", "case__customer", "case__response", "case__assignee", "recipient").filter(
        pk__in=notification_ids).order_by("pk"))
    sent: list[int] = []
    mail = None
    try:
        for notification in rows:
            try:
                if notification.channel == Notification.Channel.EMAIL and mail is None:
                    mail = get_connection()
                    mail.open()
                send(notification, connection=mail)
            except HeldBack as exc:
                Notification.objects.filter(pk=notification.pk).update(
                    status=Notification.Status.FAILED, attempts=F("attempts") + 1, error=str(exc)[:1000])
                continue
            except Exception as exc:  # noqa: BLE001 - any failure is recorded on the row and retried
                _reschedule(notification, exc)
                continue
            sent.append(notification.pk)
    finally:
        if mail is not None:
            try:
                mail.close()
            except Exception:  # noqa: BLE001 - what was handed over is sent; closing is tidying up
                logger.warning("closing the mail connection failed", exc_info=True)
    if sent:
        Notification.objects.filter(pk__in=sent).update(
            status=Notification.Status.SENT, attempts=F("attempts") + 1, sent_at=timezone.now(), error="")
    return len(sent)


def _reschedule(notification: Notification, exc: Exception) -> None:
    attempts = notification.attempts + 1
    failed = attempts >= MAX_ATTEMPTS
    logger.warning("notification %s failed (attempt %s): %s", notification.pk, attempts, exc)
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.FAILED if failed else Notification.Status.PENDING,
        attempts=attempts,
        error=str(exc)[:1000],
        next_attempt_at=timezone.now() + dt.timedelta(minutes=2 ** (attempts - 1)),
    )


def send(notification: Notification, *, connection=None) -> None:
    if notification.channel == Notification.Channel.EMAIL:
        send_email(notification, connection=connection)
    elif notification.channel == Notification.Channel.SLACK:
        post_webhook(notification.address, {"text": chat_text(notification)})
    elif notification.channel == Notification.Channel.MSTEAMS:
        post_webhook(notification.address, {"text": chat_text(notification)})
    elif notification.channel == Notification.Channel.IN_APP:
        return  # nothing to deliver: the notification centre reads the row (rows the sweep writes)
    else:
        raise ValueError(f"unknown channel {notification.channel}")


def post_webhook(url: str, payload: dict) -> None:
    try:  # core.outbound: no private addresses, bounded, the body never echoed
        response = outbound.request("POST", url, json=payload, timeout=WEBHOOK_TIMEOUT, max_bytes=64 * 1024)
    except outbound.OutboundError as exc:
        raise TransportError(f"could not deliver to the webhook: {exc}") from exc
    if response.status >= 300:
        raise TransportError(f"webhook answered {response.status}")


def case_url(case: Case) -> str:
    return f"{settings.SITE_URL}/cases/{case.reference}/"


KIND_WORDS = {
    NotificationKind.NEW_CASE: "New case",
    NotificationKind.ASSIGNED: "Assigned to you",
    NotificationKind.DUE_SOON: "Due soon",
    NotificationKind.OVERDUE: "Overdue",
    NotificationKind.ESCALATED: "Escalated",
    NotificationKind.MENTIONED: "Mentioned",
    NotificationKind.CUSTOMER_REPLIED: "Customer replied",
    NotificationKind.OUTER_LOOP: "Outer loop",
}


# kind -> (the subject's words, the body's words, the inbox status that lists them)
BATCH_WORDS = {
    NotificationKind.DUE_SOON: (
        ngettext_lazy("%(count)s case is due soon", "%(count)s cases are due soon", "count"),
        ngettext_lazy("%(count)s case is due soon", "%(count)s cases are due soon", "count"), "due_soon"),
    NotificationKind.OVERDUE: (
        ngettext_lazy("%(count)s case is overdue", "%(count)s cases are overdue", "count"),
        ngettext_lazy("%(count)s case became overdue", "%(count)s cases became overdue", "count"), "overdue"),
    NotificationKind.ESCALATED: (
        ngettext_lazy("%(count)s case was escalated", "%(count)s cases were escalated", "count"),
        ngettext_lazy("%(count)s case was escalated: still overdue after the team's escalation delay",
                      "%(count)s cases were escalated: still overdue after the team's escalation delay", "count"),
        "overdue"),
}


def is_batch(notification: Notification) -> bool:
    """A sweep found several cases for one recipient: one message lists them (see
    cases.services.sweep._queue_sql)."""
    return notification.case_id is None and bool((notification.context or {}).get("references"))


def batch_context(notification: Notification) -> dict:
    label = notification.get_kind_display().lower()
    count = notification.context.get("count") or len(notification.context["references"])
    plain = ngettext_lazy("%(count)s case: %(label)s", "%(count)s cases: %(label)s", "count")
    subject_words, words, status = BATCH_WORDS.get(notification.kind, (plain, plain, ""))
    subject_line = str(subject_words % {"count": count, "label": label})
    headline = str(words % {"count": count, "label": label})
    references = notification.context["references"]
    return {
        "count": count, "subject_line": subject_line, "headline": headline, "more": max(0, count - len(references)),
        "cases": [{"reference": ref, "url": f"{settings.SITE_URL}/cases/{ref}/"} for ref in references],
        "inbox_url": f"{settings.SITE_URL}/cases/" + (f"?status={status}" if status else ""),
    }


def chat_text(notification: Notification) -> str:
    case = notification.case
    if case is None and is_batch(notification):
        batch = batch_context(notification)
        listed = ", ".join(c["reference"] for c in batch["cases"][:10])
        more = batch["count"] - min(10, len(batch["cases"]))
        return (f"{KIND_WORDS.get(notification.kind, notification.kind)}: {batch['headline']}: "
                f"{listed}{f' and {more} more' if more else ''} {batch['inbox_url']}")
    if case is None:
        return notification.subject or notification.kind
    customer = str(case.customer) if case.customer_id else "unknown customer"
    comment = (case.response.comment or "").strip().splitlines()
    first = f": “{comment[0][:200]}”" if comment else ""
    return (
        f"{KIND_WORDS.get(notification.kind, notification.kind)}: {case.reference} ({case.get_priority_display()}, "
        f"{case.team.name}) for {customer}{first} {case_url(case)}"
    )


# Automatic mails an inbound e-mail causes: rate-limited per recipient (the mail-loop guard).
LOOP_GUARDED_KINDS = {NotificationKind.CUSTOMER_REPLIED}


def send_email(notification: Notification, *, connection=None) -> None:
    from cases.mail import outgoing

    sender = settings.DEFAULT_FROM_EMAIL
    if notification.kind == NotificationKind.CUSTOMER_EMAIL:
        subject, text, html = notification.subject, notification.body, None
        data = notification.context or {}
        reply_to = [data["reply_to"]] if data.get("reply_to") else None
        headers = outgoing.customer_headers(case=notification.case, answers=data.get("answers"),
                                            message_id=data.get("message_id") or outgoing.new_message_id())
        if data.get("message_id") and reply_to:
            sender = reply_to[0]  # the envelope sender: bounces come back to the case too
    else:
        # In the recipient's language and zone (accounts.preferences), whatever the worker's are.
        with speaking_to(notification.recipient,
                         team_zone_hint=notification.case.team.timezone if notification.case_id else ""):
            context = email_context(notification)
            name = "batch" if is_batch(notification) else notification.kind.replace("_", "-")
            subject = " ".join(render_to_string(f"emails/case-{name}-subject.txt", context).split())
            text = render_to_string(f"emails/case-{name}-body.txt", context)
            html = render_to_string(f"emails/case-{name}-body.html", context)
        reply_to = None
        guarded = notification.kind in LOOP_GUARDED_KINDS
        headers = outgoing.automatic_headers(in_reply=guarded)
        if guarded and not outgoing.allow_automatic(notification.address):
            raise HeldBack(f"Held back: more than {settings.MAIL_AUTOMATIC_PER_HOUR} automatic e-mails to this "
                           "address within the hour (the mail-loop guard, MAIL_AUTOMATIC_PER_HOUR).")
    message = EmailMultiAlternatives(subject, text, sender, [notification.address], reply_to=reply_to,
                                     headers=headers, connection=connection)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


def email_context(notification: Notification) -> dict:
    from cases.sla import sla_state

    context = {"notification": notification, "site_url": settings.SITE_URL, "data": notification.context,
               "recipient": notification.recipient}
    if notification.kind == NotificationKind.OUTER_LOOP:  # worded here, in the recipient's language
        from cases.inapp import outer_loop_evidence, outer_loop_sentence

        context.update(summary=outer_loop_sentence(notification.context or {}),
                       evidence=outer_loop_evidence(notification.context or {}))
    case = notification.case
    if case is not None:
        context.update(case=case, case_url=case_url(case), sla=sla_state(case), recipient=notification.recipient)
    else:
        context.update(recipient=notification.recipient)
        if is_batch(notification):
            context.update(batch_context(notification))
    return context


def queue_manager_digests(now: dt.datetime | None = None) -> int:
    """One digest row per manager per day (the outbox's uniqueness makes a second run a no-op)."""
    from accounts.models import Membership, User
    from cases.selectors import digest_for_teams

    now = now or timezone.now()
    period = now.date().isoformat()
    teams_of: dict[int, set[int]] = {}
    for user_id, team_id in Membership.objects.filter(is_manager=True).values_list("user_id", "team_id"):
        teams_of.setdefault(user_id, set()).add(team_id)
    wanted = enabled_users(teams_of, NotificationKind.DIGEST)
    rows = []
    for user in User.objects.filter(pk__in=wanted, is_active=True).exclude(email=""):
        digest = digest_for_teams(teams_of[user.pk], now)
        rows.append(Notification(kind=NotificationKind.DIGEST, channel=Notification.Channel.EMAIL, recipient=user,
                                 address=user.email, period=period, context=digest))
    with transaction.atomic():
        queue(rows)
    return len(rows)
