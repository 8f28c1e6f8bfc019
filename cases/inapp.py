"""The notification centre: the outbox's in-app channel (cases.models.Notification, channel
"in_app"), its unread count, marking read, and @mentions in notes.

An in-app row is written in the transaction that caused it, beside the e-mail row the user's
preference asks for, and is born "sent" (there is nothing to deliver: the bell and the page read
it). Kinds: assigned to me, mentioned, escalated (cases.services.sweep writes those in SQL),
customer replied (cases.services.replies, when a customer's e-mail comes back to the case) and
outer loop (improvement.outer_loop: a root cause, theme or touchpoint out of its normal range). The in-app row is written whatever the
e-mail preference says: the preference switches e-mails, the centre is the record.

    row(case_id=..., kind=..., user_id=..., period=..., context=...) -> Notification
    unread_count(user_id) -> int                # one query on cases_notification_unread
    bell_count(user_id) -> int                  # the same, cached in Redis until it changes
    for_user(user) -> QuerySet                  # newest first, on cases_notification_in_app
    notifications_mark_read(user=..., ids=None) -> int   # None: all of them
    mentioned_users(text, case=..., by=...) -> list[User]
"""

from __future__ import annotations

import re

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

from accounts.models import User
from accounts.selectors import visible_team_ids
from cases import live
from cases.models import Case, Notification, NotificationKind

IN_APP = Notification.Channel.IN_APP
# Kinds the centre shows (the bell counts these).
CENTRE_KINDS = (NotificationKind.ASSIGNED, NotificationKind.MENTIONED, NotificationKind.ESCALATED,
                NotificationKind.CUSTOMER_REPLIED, NotificationKind.OUTER_LOOP)
# "@name": Django user names are letters, digits and @ . + - _; a trailing "." or "," is punctuation.
MENTION = re.compile(r"(?<![\w@.+-])@([\w.+-]+)")
MAX_MENTIONS = 20


def address(user_id: int) -> str:
    """The in-app row's address: keeps the outbox's uniqueness per recipient."""
    return f"user:{user_id}"


def row(*, case_id, kind: str, user_id: int, period: str, context: dict | None = None) -> Notification:
    now = timezone.now()
    return Notification(case_id=case_id, kind=kind, channel=IN_APP, recipient_id=user_id, address=address(user_id),
                        period=period, context=context or {}, status=Notification.Status.SENT, sent_at=now,
                        created_at=now, next_attempt_at=now)


def for_user(user) -> QuerySet:
    return (Notification.objects.filter(recipient=user, channel=IN_APP)
            .select_related("case").order_by("-created_at", "-id"))


def unread_count(user_id: int | None) -> int:
    if not user_id:
        return 0
    return Notification.objects.filter(recipient_id=user_id, channel=IN_APP, read_at__isnull=True).count()


def bell_count(user_id: int | None) -> int:
    """The bell's number, kept in Redis beside the user's live counter (cases.live.user_key), which
    every change to their unread rows bumps: a page asks the database only after such a change,
    or when the cache is cold or down (then one query on cases_notification_unread)."""
    if not user_id:
        return 0
    version_key, bell_key = live.user_key(user_id), f"live:bell:{user_id}"
    try:
        values = cache.get_many([version_key, bell_key])
    except Exception:  # noqa: BLE001 - Redis down: count in the database
        return unread_count(user_id)
    version = int(values.get(version_key) or 0)
    cached = values.get(bell_key)
    if isinstance(cached, (list, tuple)) and len(cached) == 2 and cached[0] == version:
        return int(cached[1])
    count = unread_count(user_id)  # counted after reading the version: a later bump invalidates it
    try:
        cache.set(bell_key, (version, count), timeout=24 * 3600)
    except Exception:  # noqa: BLE001 - not cached this time
        pass
    return count


def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's unread in-app notifications read (only `ids` when given); another user's
    ids change nothing. Returns how many were marked; the user's other open tabs see the count."""
    rows = Notification.objects.filter(recipient=user, channel=IN_APP, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    marked = rows.update(read_at=timezone.now())
    if marked:
        live.touch(user_ids=[user.pk])
    return marked


def mentioned_users(text: str, *, case: Case, by) -> list[User]:
    """The active users named as @username in `text` who can see `case`, without the writer."""
    names = {m.rstrip(".") for m in MENTION.findall(text or "")}
    names.discard("")
    if not names:
        return []
    users = User.objects.filter(username__in=sorted(names)[:MAX_MENTIONS], is_active=True)
    if by is not None:
        users = users.exclude(pk=by.pk)
    found = []
    for user in users.order_by("pk"):
        teams = visible_team_ids(user)
        if teams is None or case.team_id in teams:
            found.append(user)
    return found


def outer_loop_sentence(data: dict) -> str:
    """An outer-loop alert (improvement.outer_loop) in the active language, from the figures it
    stores: label, metric (volume or detractor_share), week, value, n and upper limit."""
    values = {"label": data.get("label", ""), "week": data.get("week", "")}
    upper, value = float(data.get("upper") or 0), float(data.get("value") or 0)
    if data.get("metric") == "detractor_share":
        return gettext("%(label)s: %(share)s%% detractors in the week of %(week)s (%(n)s answers), above its normal "
                       "range (up to %(upper)s%%).") % {
            **values, "share": f"{100 * value:.0f}", "n": data.get("n", 0), "upper": f"{100 * upper:.0f}"}
    return gettext("%(label)s: %(count)s in the week of %(week)s, above its normal range (up to %(upper)s).") % {
        **values, "count": int(value), "upper": f"{upper:.1f}"}


def outer_loop_evidence(data: dict) -> str:
    return gettext("Normal range from the %(weeks)s weeks before: centre %(centre)s, upper limit %(upper)s.") % {
        "weeks": data.get("weeks", ""), "centre": f"{float(data.get('centre') or 0):.2f}",
        "upper": f"{float(data.get('upper') or 0):.2f}"}


def describe(notification: Notification) -> dict:
    """What the centre and the API say about a row: a sentence and where it leads."""
    case = notification.case
    context = notification.context or {}
    reference = case.reference if case is not None else ""
    if notification.kind == NotificationKind.OUTER_LOOP:  # improvement.outer_loop: no case, its own page
        return {"text": outer_loop_sentence(context), "reference": "", "url": context.get("url", "")}
    if case is None and context.get("references"):
        refs = context["references"]
        count = context.get("count") or len(refs)
        text = ngettext("%(count)s case was escalated: %(references)s", "%(count)s cases were escalated: %(references)s",
                        count) % {"count": count, "references": ", ".join(refs[:5]) + (" …" if count > 5 else "")}
        return {"text": text, "reference": "", "url": "/cases/?view=overdue"}
    values = {"reference": reference, "by": context.get("by") or gettext("Someone"),
              "note": (context.get("note") or "")[:140]}
    text = {
        NotificationKind.ASSIGNED: gettext_lazy("%(reference)s was assigned to you."),
        NotificationKind.MENTIONED: gettext_lazy("%(by)s mentioned you on %(reference)s: “%(note)s”"),
        NotificationKind.ESCALATED: gettext_lazy("%(reference)s was escalated: still overdue after the team's delay."),
        NotificationKind.CUSTOMER_REPLIED: gettext_lazy("The customer replied on %(reference)s."),
    }.get(notification.kind)
    text = text % values if text is not None else f"{notification.get_kind_display()}: {reference}"
    return {"text": text, "reference": reference, "url": f"/cases/{reference}/" if reference else ""}
