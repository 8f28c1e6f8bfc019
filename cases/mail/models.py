"""What the two-way e-mail keeps (see cases/mail/__init__.py): the Message-IDs of the e-mails
sent to customers from a case, and each e-mail that reached a reply address, once."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutgoingMail(models.Model):
    """A customer e-mail sent from a case, by its Message-ID: a reply that quotes it in
    In-Reply-To or References finds the case even without the reply address."""

    message_id = models.CharField(max_length=255)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="outgoing_mails")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "cases"
        constraints = [
            models.UniqueConstraint(fields=["message_id"], name="cases_outgoingmail_unique_message_id"),
        ]

    def __str__(self) -> str:
        return self.message_id


class InboundMail(models.Model):
    """One e-mail that reached a reply address, through any door (a provider's webhook or the
    IMAP poller), recorded once per Message-ID: the same mail twice, or through both doors,
    lands once. What it was (a reply, a bounce, an automatic reply) and what became of it."""

    class Door(models.TextChoices):
        MAILGUN = "mailgun", "Mailgun"
        POSTMARK = "postmark", "Postmark"
        IMAP = "imap", "IMAP"
        PIPE = "pipe", _("Piped by the mail server (manage.py mail_receive)")

    class Outcome(models.TextChoices):
        REPLY = "reply", _("Customer reply")
        BOUNCE = "bounce", _("Bounce")
        AUTO_REPLY = "auto_reply", _("Automatic reply")
        REFUSED = "refused", _("Refused")  # no case: unknown or bad reply address, no known thread

    message_id = models.CharField(max_length=255)
    door = models.CharField(max_length=10, choices=Door.choices)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    reason = models.CharField(max_length=255, blank=True, help_text="Why it was refused, or what marked it.")
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="inbound_mails")
    from_address = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    text = models.TextField(blank=True, help_text="The reply without its quoted history.")
    attachments = models.JSONField(default=list, blank=True,
                                   help_text="Listed, not stored: [{name, size, type}].")
    data = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        app_label = "cases"
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["message_id"], name="cases_inboundmail_unique_message_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} {self.message_id}"
