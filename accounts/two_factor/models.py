"""Which roles must sign in with a second factor: one row, changed on /settings/two-factor/.

The devices themselves are django-otp's (otp_totp.TOTPDevice for the authenticator app,
otp_static.StaticDevice for the backup codes); this module only holds the organisation's policy.
It imports nothing from accounts.models (accounts.models imports it, so Django registers it)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TwoFactorPolicy(models.Model):
    """The organisation's rule, per role: a user whose role is required here and who has no
    authenticator yet is sent to set one up after the password and can do nothing else first.
    Superusers follow the CX admin row. There is only ever the row with id 1 (`load()`)."""

    agents_required = models.BooleanField("Frontline agents", default=False)
    managers_required = models.BooleanField("Managers", default=False)
    admins_required = models.BooleanField("CX admins", default=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = "two-factor policy"
        verbose_name_plural = "two-factor policy"
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="accounts_twofactorpolicy_single_row"),
        ]

    def __str__(self) -> str:
        return "Two-factor policy"

    @classmethod
    def load(cls) -> TwoFactorPolicy:
        return cls.objects.get_or_create(id=1)[0]

    def required_roles(self) -> frozenset[str]:
        """Role values ("agent", "manager", "admin") that must use a second factor."""
        flags = {"agent": self.agents_required, "manager": self.managers_required, "admin": self.admins_required}
        return frozenset(role for role, required in flags.items() if required)
