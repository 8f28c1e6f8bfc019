"""Writes for alerts: raising alerts for a recorded response, sending their e-mails, and
changing rules (every rule write goes through here, so the rule cache always hears about it).

The path of a response: surveys.services.response_record sends `response_recorded` (a
surveys.signals.Recorded) inside its transaction -> `alerts_raise_for_recorded` evaluates the
cached active rules (a pure function, alerts.rules.evaluate) and stores one Alert per matching
rule -> `alert_raised` for each new alert, with the Recorded (cases opens or attaches a case
for open-case alerts in the same transaction, followup recognizes praise) -> after commit, the
e-mail task for notify and praise alerts."""

from __future__ import annotations

import copy
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape

from accounts.preferences import speaking_to
from alerts.models import Alert, AlertRule
from alerts.reasons import describe_reasons
from alerts.selectors import active_rules, alert_email_recipients, praised_user_for, rules_changed
from alerts.signals import alert_raised
from core import batching
from core.queueing import enqueue
from core.unit_of_work import insert
from surveys.signals import Recorded
from surveys.vocabulary import scores_line

EMAIL_ACTIONS = (AlertRule.Action.NOTIFY, AlertRule.Action.PRAISE)


def alerts_raise_for_response(*, response) -> list[Alert]:
    """`alerts_raise_for_recorded` for a response loaded from the database (a replay, a test):
    its theme ids are read with one query when an active rule is about themes."""
    rules = active_rules()
    if not rules:
        return []
    return alerts_raise_for_recorded(recorded=Recorded.stored(response, with_themes=rules.has_themes))


# No savepoint of its own: it runs inside the caller's transaction (a failure rolls back the whole
# delivery, as it must), and a savepoint here would cost two round trips per response.
@transaction.atomic(savepoint=False)
def alerts_raise_for_recorded(*, recorded: Recorded) -> list[Alert]:
    """Store an Alert for each active rule the response matches; returns the new ones, each
    announced with `alert_raised` (the alert, `recorded`, and the alerts raised before it here).

    Idempotent: (rule, response) is unique, so evaluating the same response again creates
    nothing, sends no signal and queues no e-mail. A new response (`recorded.is_new`) has no
    alert yet: nothing is looked up, and its alerts are inserted with the batch's others."""
    from alerts.rules import evaluate
    from segments.conditions import CustomerFacts, account_values_of

    rules = active_rules()
    if not rules:
        return []
    response = recorded.response
    customer = None
    if response.customer_id is not None:
        response.customer  # noqa: B018  (loaded once here, so evaluation itself makes no query)
        if rules.has_segments:
            customer = CustomerFacts.of(
                response.customer, account_values_of(response.customer_id) if rules.segment_accounts else ())
    matches = evaluate(response, rules, theme_ids=recorded.theme_ids, customer=customer)
    if not matches:
        return []
    fresh = recorded.is_new
    already = set() if fresh else set(
        Alert.objects.filter(response=response, rule_id__in=[m.rule.id for m in matches]).values_list("rule_id", flat=True)
    )
    created_alerts = []
    for match in matches:
        if match.rule.id in already:
            continue
        action = match.rule.action
        defaults = {"action": action, "reasons": match.reasons}
        if action == AlertRule.Action.PRAISE:
            defaults["praised_user"] = praised_user_for(response)
        if action in EMAIL_ACTIONS:
            defaults["email_status"] = Alert.EmailStatus.PENDING
        if fresh:
            model = rules.models.get(match.rule.id)  # the rule itself: opening a case reads it
            rule = {"rule": copy.copy(model)} if model is not None else {"rule_id": match.rule.id}
            alert = insert(Alert(response=response, **rule, **defaults))  # with the batch's others, in one
        else:
            alert, created = Alert.objects.get_or_create(rule_id=match.rule.id, response=response, defaults=defaults)
            if not created:
                continue
        alert_raised.send(sender=Alert, alert=alert, recorded=recorded, earlier=tuple(created_alerts))
        created_alerts.append(alert)
        if action in EMAIL_ACTIONS:
            transaction.on_commit(lambda pk=alert.pk: alert_email_enqueue(pk))
    return created_alerts


def alert_email_enqueue(alert_id: int) -> None:
    """Hand an alert's e-mail to the worker (inside a batch, with the batch's other e-mails:
    core.batching); with the broker down the sweep sends it later."""
    batching.enqueue("alerts.emails", alert_id, send_one=_send_one, send_many=_send_many)


def _send_one(alert_id: int) -> None:
    enqueue("alerts.tasks.alert_email_send_task", alert_id, if_down="the sweep will send it")


def _send_many(alert_ids: list[int]) -> None:
    enqueue("alerts.tasks.alert_emails_send_task", alert_ids, if_down="the sweep will send them")


def alert_email_send(*, alert_id: int) -> str:
    """Send a notify or praise alert's e-mail once. Returns the final status, or "skipped" when
    it is not owed (already sent, or another worker has it). Raises on a transport error after
    putting the alert back to pending, so the task retries."""
    outcomes, errors = alert_emails_send(alert_ids=[alert_id])
    if alert_id in errors:
        raise errors[alert_id]
    return outcomes[alert_id]


def alert_emails_send(*, alert_ids: list[int]) -> tuple[dict[int, str], dict[int, Exception]]:
    """Send the e-mails of several alerts, each once: one statement claims them, one loads them,
    recipients are looked up once per rule and team, and one mail connection sends them all.

    Returns each alert's outcome ("sent", "failed" when there is nobody to e-mail, "skipped" when
    it is not owed or another worker has it, "retrying") and, for the ones a transport error
    stopped, the error: they are back to pending, for the caller to retry."""
    outcomes: dict[int, str] = dict.fromkeys(alert_ids, "skipped")
    errors: dict[int, Exception] = {}
    claimed = _claim_emails(alert_ids)
    if not claimed:
        return outcomes, errors
    alerts = Alert.objects.select_related(
        "rule", "rule__notify_team", "rule__case_team", "response", "response__customer", "response__survey",
        "response__team", "praised_user",
    ).filter(pk__in=claimed).order_by("pk")
    recipients_for: dict[tuple, list] = {}
    outgoing = []
    for alert in alerts:
        key = (alert.action, alert.rule_id, alert.praised_user_id, alert.response.team_id)
        if key not in recipients_for:
            recipients_for[key] = alert_email_recipients(alert)
        recipients = recipients_for[key]
        if not recipients:
            Alert.objects.filter(pk=alert.pk).update(
                email_status=Alert.EmailStatus.FAILED,
                email_error="Nobody to e-mail: no named person or team member with an e-mail address.",
            )
            outcomes[alert.pk] = Alert.EmailStatus.FAILED
            continue
        outgoing.append((alert, recipients, _messages(alert, recipients)))
    if not outgoing:
        return outcomes, errors
    sent: dict[tuple[str, ...], list[int]] = {}
    try:
        with get_connection() as connection:
            for alert, recipients, messages in outgoing:
                try:
                    connection.send_messages(messages)
                except Exception as exc:
                    errors[alert.pk] = exc
                    continue
                sent.setdefault(tuple(user.email for user in recipients), []).append(alert.pk)
    except Exception as exc:  # opening or closing the connection failed: nothing more went out
        for alert, _who, _copies in outgoing:
            if not any(alert.pk in pks for pks in sent.values()):
                errors.setdefault(alert.pk, exc)
    finished = timezone.now()
    for emails, pks in sent.items():  # one statement per distinct recipient list
        Alert.objects.filter(pk__in=pks).update(
            email_status=Alert.EmailStatus.SENT, emailed_at=finished, email_error="", email_recipients=list(emails),
        )
        outcomes.update(dict.fromkeys(pks, Alert.EmailStatus.SENT))
    for pk, exc in errors.items():
        Alert.objects.filter(pk=pk, email_status=Alert.EmailStatus.SENDING).update(
            email_status=Alert.EmailStatus.PENDING, email_error=f"{exc.__class__.__name__}: {exc}"[:2000]
        )
        outcomes[pk] = "retrying"
    return outcomes, errors


def _claim_emails(alert_ids: list[int]) -> list[int]:
    """Mark the owed e-mails among `alert_ids` as being sent, in one statement that says which it
    took (one another worker claimed first is not returned)."""
    if not alert_ids:
        return []
    table = connection.ops.quote_name(Alert._meta.db_table)
    placeholders = ", ".join(["%s"] * len(alert_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET email_status = %s, email_claimed_at = %s "
            f"WHERE id IN ({placeholders}) AND email_status = %s RETURNING id",
            [Alert.EmailStatus.SENDING, timezone.now(), *alert_ids, Alert.EmailStatus.PENDING],
        )
        return [row[0] for row in cursor.fetchall()]


def alert_email_give_up(*, alert_id: int, error: str) -> None:
    Alert.objects.filter(pk=alert_id).exclude(email_status=Alert.EmailStatus.SENT).update(
        email_status=Alert.EmailStatus.FAILED, email_error=f"Gave up: {error}"[:2000]
    )


def alert_emails_redrive(*, stuck_after: timedelta = timedelta(minutes=10), limit: int = 500) -> int:
    """Return e-mails a dead worker left in "sending" to pending and queue every owed one."""
    now = timezone.now()
    Alert.objects.filter(email_status=Alert.EmailStatus.SENDING, email_claimed_at__lt=now - stuck_after).update(
        email_status=Alert.EmailStatus.PENDING
    )
    owed = list(
        Alert.objects.filter(email_status=Alert.EmailStatus.PENDING, created_at__lt=now - timedelta(minutes=1))
        .order_by("created_at").values_list("pk", flat=True)[:limit]
    )
    for pk in owed:
        alert_email_enqueue(pk)
    return len(owed)


class _Recipient:
    """Stands in for the recipient while an alert's e-mail is rendered once for all of them; each
    copy then gets the person's name where the marker is (html-escaped in the HTML part)."""

    MARKER = "@@closeloop-recipient-name@@"  # nothing in it that escaping or a filter would change
    display_name = MARKER

    def __str__(self) -> str:
        return self.MARKER


def _messages(alert: Alert, recipients: list) -> list[EmailMultiAlternatives]:
    """One message per recipient, from one rendering of the subject, text and HTML templates per
    language and time zone among them (each person reads it in theirs: accounts.preferences)."""
    name = "praise" if alert.action == AlertRule.Action.PRAISE else "alert"
    response = alert.response
    context = {
        "alert": alert, "rule": alert.rule, "response": response, "customer": response.customer,
        "recipient": _Recipient(), "site_url": settings.SITE_URL, "praised_user": alert.praised_user,
    }
    rendered: dict[tuple[str, str], tuple[str, str, str]] = {}
    messages = []
    for user in recipients:
        key = (user.language, user.timezone)
        if key not in rendered:
            with speaking_to(user):
                context["score"] = _score_words(response)  # "NPS 3, CSAT 2 of 1–5", in their language
                context["reasons"] = describe_reasons(alert.reasons)  # stored as codes: worded for them
                rendered[key] = (" ".join(render_to_string(f"emails/{name}-subject.txt", context).split()),
                                 render_to_string(f"emails/{name}-body.txt", context),
                                 render_to_string(f"emails/{name}-body.html", context))
        subject, text, html = rendered[key]
        who = user.display_name or "there"
        message = EmailMultiAlternatives(subject=subject.replace(_Recipient.MARKER, who),
                                         body=text.replace(_Recipient.MARKER, who), to=[user.email])
        message.attach_alternative(html.replace(_Recipient.MARKER, escape(who)), "text/html")
        messages.append(message)
    return messages


def _score_words(response) -> str:
    """The e-mail's scores: surveys.vocabulary's one line, "NPS 3, CSAT 2 of 1–5"."""

    return scores_line(response)


# --- rules --------------------------------------------------------------------------------


def _save_rule(rule: AlertRule, *, surveys=None, notify_users=None, themes=None, segments=None) -> AlertRule:
    from django.core.exceptions import ValidationError

    from alerts.validation import COMMENT_CONTRADICTION

    rule.full_clean()
    if rule.comment_presence == AlertRule.CommentPresence.WITHOUT and (  # clean() cannot see m2m values
            themes if themes is not None else (rule.pk and rule.themes.exists())):
        raise ValidationError({"comment_presence": [COMMENT_CONTRADICTION]})
    rule.save()
    if surveys is not None:
        rule.surveys.set(surveys)
    if notify_users is not None:
        rule.notify_users.set(notify_users)
    if themes is not None:
        rule.themes.set(themes)
    if segments is not None:
        rule.segments.set(segments)
    if themes is not None or segments is not None:
        rules_changed()  # m2m writes do not pass through post_save
    return rule


@transaction.atomic
def rule_create(*, data: dict, surveys=None, notify_users=None, themes=None, segments=None) -> AlertRule:
    """Create a rule from field values; it goes last unless `order` is given. `themes`: the
    surveys.Theme rows the comment must be about (any of them); `segments`: the segments.Segment
    rows the customer must be in (any of them)."""
    data = dict(data)
    if data.get("order") is None:
        data["order"] = (AlertRule.objects.aggregate(m=Max("order"))["m"] or 0) + 10
    return _save_rule(AlertRule(**data), surveys=surveys, notify_users=notify_users, themes=themes,
                      segments=segments)


@transaction.atomic
def rule_update(*, rule: AlertRule, data: dict, surveys=None, notify_users=None, themes=None,
                segments=None) -> AlertRule:
    for name, value in data.items():
        setattr(rule, name, value)
    return _save_rule(rule, surveys=surveys, notify_users=notify_users, themes=themes, segments=segments)


@transaction.atomic
def rule_set_active(*, rule_id: int, active: bool) -> AlertRule:
    rule = AlertRule.objects.select_for_update().get(pk=rule_id)
    if rule.active != active:
        rule.active = active
        rule.save(update_fields=["active", "updated_at"])
    return rule


@transaction.atomic
def rule_move(*, rule_id: int, direction: str) -> AlertRule:
    """Swap a rule with its neighbour ("up" runs it earlier, "down" later); orders are renumbered
    10, 20, 30... so ties never hide a move."""
    rules = list(AlertRule.objects.select_for_update().order_by("order", "id"))
    index = next(i for i, r in enumerate(rules) if r.pk == rule_id)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(rules):
        rules[index], rules[other] = rules[other], rules[index]
    changed = []
    for position, rule in enumerate(rules, start=1):
        if rule.order != position * 10:
            rule.order = position * 10
            changed.append(rule)
    if changed:
        for rule in changed:  # one save each (a handful of rules), so the audit trail records every new order
            rule.save(update_fields=["order"])
        rules_changed()
    return next(r for r in rules if r.pk == rule_id)


class RuleInUse(Exception):
    """A rule that has raised alerts is kept (the alerts say why they exist): disable it instead."""


@transaction.atomic
def rule_delete(*, rule_id: int) -> None:
    rule = AlertRule.objects.select_for_update().get(pk=rule_id)
    count = rule.alerts.count()
    if count:
        raise RuleInUse(f"“{rule.name}” has raised {count} alert{'s' if count != 1 else ''}, which keep it as "
                        "their reason; disable it instead.")
    rule.delete()
