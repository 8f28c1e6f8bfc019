"""Notifications about cases (e-mail, chat, in-app) and each person's preferences."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


from cases.models.case import Case


class NotificationKind(models.TextChoices):
    """What a notification is about; each user can switch each kind on or off."""

    NEW_CASE = "new_case", _("New case in a team channel")
    ASSIGNED = "assigned", _("A case was assigned to you")
    DUE_SOON = "due_soon", _("A case of yours is due soon")
    OVERDUE = "overdue", _("A case became overdue")
    ESCALATED = "escalated", _("A case was escalated")
    DIGEST = "digest", _("Daily manager digest")
    CUSTOMER_EMAIL = "customer_email", _("E-mail to a customer")
    MENTIONED = "mentioned", _("You were mentioned in a note")
    CUSTOMER_REPLIED = "customer_replied", _("A customer replied on a case of yours")
    OUTER_LOOP = "outer_loop", _("A root cause, theme or touchpoint left its normal range")


class Notification(models.Model):
    """The outbox: one row per (case, kind, channel, address, period), so a sweep or task that runs
    twice queues nothing twice. Rows are sent by cases.tasks.notifications_dispatch_task, which
    claims pending rows with a conditional UPDATE and retries failures with backoff."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SLACK = "slack", _("Slack")
        MSTEAMS = "msteams", _("Microsoft Teams")
        IN_APP = "in_app", "In the app"  # the notification centre; address "user:<id>", born sent

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="notifications")
    address = models.CharField(max_length=500, help_text=_("E-mail address or incoming-webhook URL."))
    period = models.CharField(max_length=40, blank=True, help_text=_("Which occurrence this is (the overdue moment, "
                              "the case version, the digest date)."))
    subject = models.CharField(max_length=255, blank=True, help_text=_("Pre-rendered (customer e-mails); else from the template."))
    body = models.TextField(blank=True)
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True, help_text=_("In-app rows: when the recipient read it."))

    class Meta:
        ordering = ["-created_at"]
        # On SQLite. On PostgreSQL the table is partitioned by month on created_at and these two
        # uniquenesses are NotificationKey's, claimed by a trigger (cases 0024, core.partition_keys).
        constraints = [
            models.UniqueConstraint(fields=["case", "kind", "channel", "address", "period"],
                                    name="cases_notification_unique_case_kind_channel_address_period",
                                    condition=Q(case__isnull=False)),
            models.UniqueConstraint(fields=["kind", "channel", "address", "period"],
                                    name="cases_notification_unique_caseless_kind_channel_address_period",
                                    condition=Q(case__isnull=True)),
        ]
        indexes = [
            # The dispatcher: pending rows whose next attempt is due.
            models.Index(fields=["next_attempt_at"], name="cases_notification_pending", condition=Q(status="pending")),
            # The notification centre (cases.inapp): a user's list, and the bell's unread count.
            models.Index(fields=["recipient", "-created_at"], name="cases_notification_in_app",
                         condition=Q(channel="in_app")),
            models.Index(fields=["recipient"], name="cases_notification_unread",
                         condition=Q(channel="in_app", read_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.address} ({self.status})"


class NotificationKey(models.Model):
    """One (case, kind, channel, address, period) per notification: the outbox's once-only key on
    PostgreSQL, where notifications are partitioned by month and no unique index may leave
    created_at out. Written by a trigger on every insert (core.partition_keys), so a sweep or task
    that runs twice still queues nothing twice; `case_id` 0 for a notification without a case.
    Empty on SQLite. `row_id` is the notification's id, no foreign key (PostgreSQL accepts none into
    a partitioned table)."""

    row_id = models.BigIntegerField(primary_key=True)
    case_id = models.BigIntegerField()
    kind = models.CharField(max_length=20)
    channel = models.CharField(max_length=10)
    address = models.CharField(max_length=500)
    period = models.CharField(max_length=40)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case_id", "kind", "channel", "address", "period"],
                                               name="cases_notificationkey_unique")]


class NotificationPreference(models.Model):
    """A user's switch for one kind of notification. No row means "on"."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="cases_notificationpreference_unique_user_kind")]

    def __str__(self) -> str:
        return f"{self.user} {self.kind}: {'on' if self.enabled else 'off'}"


