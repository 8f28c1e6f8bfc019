"""Password reset and invitation acceptance: Django's own views (PasswordResetView,
PasswordResetConfirmView, ...) with the product's templates.

- Asking for a reset answers the same page whether or not the address belongs to someone
  (Django's behaviour); requests are rate-limited per client address and per address asked
  for, counted whatever the answer, so the limit reveals nothing either.
- Links are built from SITE_URL, never from the request's Host header.
- A deactivated user's link does not work.
- Someone invited who has not chosen a password yet gets a fresh invitation instead (Django
  sends reset links only to users with a usable password).
- Choosing a new password through a reset link lifts a sign-in lockout on that user name: the
  lockout page sends a locked-out person here.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.shortcuts import render
from django.urls import reverse_lazy
from django_ratelimit.core import is_ratelimited

from accounts.backends import client_ip
from accounts.services.users import invitation_renew, invitation_token, link_days

logger = logging.getLogger(__name__)

# Reset requests: generous for a person who mistyped, tight for a script (django-ratelimit rates,
# counted in the shared Redis cache).
RATE_PER_IP = "10/h"
RATE_PER_ADDRESS = "3/h"


def _rate_limited(request, email: str) -> bool:
    checks = [
        ("accounts.password_reset.ip", lambda group, req: client_ip(req),
         getattr(settings, "PASSWORD_RESET_RATE_PER_IP", RATE_PER_IP)),
        ("accounts.password_reset.address", lambda group, req: email.strip().lower(),
         getattr(settings, "PASSWORD_RESET_RATE_PER_ADDRESS", RATE_PER_ADDRESS)),
    ]
    try:
        limited = [is_ratelimited(request, group=group, key=key, rate=rate, increment=True)
                   for group, key, rate in checks]
    except Exception as exc:  # noqa: BLE001 - Redis down: the reset still works, unthrottled
        logger.warning("password reset rate limit unavailable: %s", exc)
        return False
    return any(limited)


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "registration/password_reset_form.html"
    subject_template_name = "emails/password-reset-subject.txt"
    email_template_name = "emails/password-reset-body.txt"
    html_email_template_name = "emails/password-reset-body.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        if _rate_limited(self.request, form.cleaned_data["email"]):
            return render(self.request, "registration/password_reset_limited.html", status=429)
        self.extra_email_context = {"site_url": settings.SITE_URL, "days": link_days()}
        invitation_renew(email=form.cleaned_data["email"])
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"


class _ActiveUserLinkMixin:
    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None


class PasswordResetConfirmView(_ActiveUserLinkMixin, auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        _lift_lockout(form.user)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"


class InvitationConfirmView(_ActiveUserLinkMixin, auth_views.PasswordResetConfirmView):
    """The invitation e-mail's link: the invitee chooses their first password."""

    template_name = "registration/invitation_confirm.html"
    token_generator = invitation_token
    success_url = reverse_lazy("accounts:invitation_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        logger.info("user %s accepted their invitation", form.user.pk)
        return response


class InvitationCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/invitation_complete.html"


def _lift_lockout(user) -> None:
    """Forget failed sign-ins for this user name (not for an address: that lock stops someone
    trying many names, and a reset by one of them should not lift it for the rest)."""
    from axes.utils import reset

    try:
        reset(username=user.get_username())
    except Exception as exc:  # noqa: BLE001 - the password is set; the lock lapses on its own
        logger.warning("could not lift the sign-in lockout for user %s: %s", user.pk, exc)
