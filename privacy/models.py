"""The audit trail of personal-data requests: every export and erasure of a customer's data,
who asked, through which door, and what it touched. It holds no personal data itself."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from surveys.models import Customer


class CustomerData(Customer):
    """The customer as the admin's personal-data page shows it (export / erase actions)."""

    class Meta:
        proxy = True
        verbose_name = "customer personal data"
        verbose_name_plural = "customer personal data"


class PrivacyLog(models.Model):
    """One export or erasure of a customer's data (GDPR access / erasure request)."""

    class Action(models.TextChoices):
        EXPORT = "export", "Export"
        ERASE = "erase", "Erase"

    class Via(models.TextChoices):
        ADMIN = "admin", "Admin action"
        API = "api", "API"
        COMMAND = "command", "Management command"

    action = models.CharField(max_length=8, choices=Action.choices)
    via = models.CharField(max_length=8, choices=Via.choices)
    # The id only (the customer row outlives its erasure, stripped of personal fields).
    customer_id = models.BigIntegerField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Empty for a management command run by an operator.",
    )
    actor_name = models.CharField(max_length=150, blank=True, help_text="Kept if the user is deleted later.")
    reason = models.CharField(max_length=255, blank=True)
    summary = models.JSONField(default=dict, blank=True, help_text="What was exported or erased, as counts.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "personal-data request"

    def __str__(self) -> str:
        return f"{self.get_action_display()} of customer {self.customer_id} via {self.via}"
