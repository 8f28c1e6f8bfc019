"""The contact policy (one row) and the survey contacts the product knows of besides responses."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from surveys.consent import ContactChannel


class ContactPolicy(models.Model):
    """How often and when a customer may be asked for feedback, whoever asks. There is only ever
    the row with id 1 (`load()`); contactpolicy.services reads it through a short cache."""

    max_surveys = models.PositiveSmallIntegerField(
        _("surveys per person"), default=3,
        help_text=_("At most this many survey contacts per person in the period. 0: no limit."))
    period_days = models.PositiveSmallIntegerField(_("period (days)"), default=30)
    open_case_blocks = models.BooleanField(
        _("no surveys while a case is open"), default=True,
        help_text=_("Someone whose complaint is still being handled is not asked for a score."))
    days_after_close = models.PositiveSmallIntegerField(
        _("days of rest after a case closes"), default=14,
        help_text=_("No surveys for this many days after the customer's case closed. 0: none. The product's "
                    "own recovery check about that case is the exception."))
    # Off until an admin turns them on: they mean something once customers' time zones are known
    # (a `timezone` attribute from a source or an import) or the default zone fits most of them.
    quiet_hours = models.BooleanField(_("quiet hours"), default=False)
    quiet_start = models.TimeField(_("quiet from"), default=dt.time(21, 0))
    quiet_end = models.TimeField(_("quiet until"), default=dt.time(8, 0))
    default_time_zone = models.CharField(
        _("time zone when the customer's is unknown"), max_length=64, blank=True,
        help_text=_("An IANA name such as Europe/Madrid. Blank: the installation's (TIME_ZONE)."))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("contact policy")
        verbose_name_plural = _("contact policy")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="contactpolicy_contactpolicy_single_row"),
            models.CheckConstraint(condition=models.Q(period_days__gte=1), name="contactpolicy_period_positive"),
        ]

    def __str__(self) -> str:
        return "Contact policy"

    @classmethod
    def load(cls) -> ContactPolicy:
        return cls.objects.get_or_create(id=1)[0]


class ContactEvent(models.Model):
    """A survey contact the product did not learn from a response: an invitation a survey tool
    reports having sent (`POST /api/v1/contact-policy/contacts/`), or a recovery check the
    product e-mailed. Responses count as contacts by themselves (services.survey_contacts)."""

    class Kind(models.TextChoices):
        INVITATION = "invitation", _("Survey invitation")
        RECOVERY_CHECK = "recovery_check", _("Recovery check")

    # Indexed by (customer, at) below, which serves lookups by customer too.
    customer = models.ForeignKey("surveys.Customer", on_delete=models.CASCADE, related_name="contact_events",
                                 db_index=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    channel = models.CharField(max_length=12, choices=ContactChannel.choices, default=ContactChannel.EMAIL)
    source = models.ForeignKey("surveys.WebhookSource", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    # Who sent it (a tool's name, e.g. "mailchimp", or "closeloop" for the product's own checks)
    # and the sender's id for it: the same invitation reported twice is one contact.
    sender = models.CharField(max_length=60, blank=True)
    external_id = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField()
    # What the decision was when the contact was made, so the report can list breaches.
    in_breach = models.BooleanField(default=False)
    breach_reasons = models.JSONField(default=list, blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # A customer's contacts in the policy's period: the decision's one range scan.
            models.Index(fields=["customer", "at"], name="contactpolicy_event_cust_at"),
            # The contact report's over-contacted list: the period's contacts per customer, index-only.
            models.Index(fields=["at"], include=["customer"], name="contactpolicy_event_at"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["sender", "external_id"], condition=~models.Q(external_id=""),
                                    name="contactpolicy_event_unique_external"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to customer {self.customer_id} at {self.at:%Y-%m-%d %H:%M}"
