"""People who sign in: invite by e-mail, change a role, deactivate and reactivate.

One module for the rules, used by the users pages (accounts.views.users) and the REST API
(accounts.api): a refusal is a django ValidationError whose message_dict names the field, so a
form shows it beside the field and the API answers 400 with the same sentence.

The rules a CX admin cannot break:
- nobody changes themselves out of access (deactivates their own account or drops their own
  CX admin role): another CX admin has to do it;
- the last active CX admin stays one (not deactivated, not demoted), so the organisation always
  has someone who can reach these pages;
- a superuser's account is changed only by a superuser (the Django admin's people).

Deactivating someone ends their sessions at once (accounts.services.sessions); their API tokens
stop working with it (accounts.services.tokens.token_authenticate refuses inactive users). The
users pages, the API and SCIM deprovisioning (accounts.scim) all deactivate through user_update.

An invitation is a user with no usable password and a one-time link (Django's
PasswordResetTokenGenerator with its own salt: a reset link is not an invitation link and the
other way round). Setting the password changes the hash the token is made from, so the link
works once; resending sets a fresh unusable password, so earlier links stop working.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext

from accounts.models import Membership, Role, Team, User
from accounts.preferences import speaking_to
from accounts.services.sessions import user_sessions_end

logger = logging.getLogger(__name__)


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Same scheme as password reset links (timestamped HMAC over the user's password hash and
    last sign-in, valid PASSWORD_RESET_TIMEOUT), under another salt."""

    key_salt = "closeloop.accounts.InvitationTokenGenerator"


invitation_token = InvitationTokenGenerator()


@dataclass(frozen=True)
class InvitationResult:
    """The invited user, and whether the e-mail left (False: `error` says why; resend later)."""

    user: User
    sent: bool
    error: str = ""


def link_days() -> int:
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)


def user_status(user: User) -> str:
    """"deactivated", "invited" (never set a password) or "active"."""
    if not user.is_active:
        return "deactivated"
    if not user.has_usable_password():
        return "invited"
    return "active"


def user_list() -> QuerySet[User]:
    """Everyone, with their teams, for the users page and GET /api/v1/users/."""
    return User.objects.order_by("username").prefetch_related(
        Prefetch("teams", queryset=Team.objects.order_by("name"))
    )


def _active_admins() -> QuerySet[User]:
    return User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True)


def _check_may_change(by: User, user: User) -> None:
    if user.is_superuser and not by.is_superuser:
        raise ValidationError(gettext("%(name)s is a superuser: only a superuser can change their account.") % {
            "name": user.display_name})


def _normalise_email(email: str) -> str:
    email = (email or "").strip()
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}" if local else email


def _invite_problems(*, email: str, username: str, role: str) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except ValidationError:
        problems["email"] = [f"“{email}” is not an e-mail address such as ana@example.com."]
    else:
        if User.objects.filter(email__iexact=email).exists():
            problems["email"] = [f"A user with the e-mail address {email} already exists."]
    if role not in Role.values:
        problems["role"] = [f"“{role}” is not a role: choose one of {', '.join(Role.values)}."]
    if not username:
        problems.setdefault("username", []).append("Give a user name (the e-mail address will do).")
    elif username == email.lower() and "email" in problems:
        pass  # the user name is the address: one sentence about the address says it all
    else:
        try:
            User.username_validator(username)
        except ValidationError:
            problems["username"] = ["A user name may contain only letters, digits and @ . + - _"]
        else:
            if User.objects.filter(username__iexact=username).exists():
                problems["username"] = [f"The user name {username} is taken."]
    return problems


def user_invite(*, by: User, email: str, role: str, teams=(), username: str = "",
                first_name: str = "", last_name: str = "") -> InvitationResult:
    """Create the user (no usable password yet), add them to `teams` (team managers when the
    role is manager) and e-mail them a link to choose a password."""
    email = _normalise_email(email)
    username = (username or "").strip() or email.lower()
    problems = _invite_problems(email=email, username=username, role=role)
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        user = User(username=username, email=email, role=role,
                    first_name=(first_name or "").strip(), last_name=(last_name or "").strip())
        user.set_unusable_password()
        user.save()
        for team in teams:  # one save each (not bulk_create), so the audit trail records each membership
            Membership.objects.create(user=user, team=team, is_manager=role == Role.MANAGER)
    logger.info("user %s invited by %s as %s", user.pk, by.pk, role)
    return _send_invitation(user, by)


def invitation_resend(*, by: User, user_id: int) -> InvitationResult:
    """A fresh link for someone who has not set a password yet; earlier links stop working."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        _check_may_change(by, user)
        if not user.is_active:
            raise ValidationError(gettext("%(name)s is deactivated: reactivate them first.") % {"name": user.display_name})
        if user.has_usable_password():
            raise ValidationError(
                gettext("%(name)s has already set a password: they can use “Forgot your password?” on the "
                        "sign-in page.") % {"name": user.display_name}
            )
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return _send_invitation(user, by)


def invitation_renew(*, email: str) -> int:
    """Someone invited who has not chosen a password asks for a password reset (their link may
    have expired): they get a fresh invitation instead, on the same page as everyone else.
    Returns how many were sent."""
    sent = 0
    for user in User.objects.filter(email__iexact=(email or "").strip(), is_active=True):
        if user.has_usable_password():
            continue
        with transaction.atomic():
            user.set_unusable_password()
            user.save(update_fields=["password"])
        sent += _send_invitation(user, None).sent
    return sent


def invitation_url(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("accounts:invitation_confirm", kwargs={"uidb64": uid, "token": invitation_token.make_token(user)})
    return settings.SITE_URL + path


def _send_invitation(user: User, by: User | None) -> InvitationResult:
    """Outside any transaction: the user exists whatever the mail server says."""
    with speaking_to(user):
        context = {
            "user": user, "invited_by": by.display_name if by else gettext("Your CX team"), "url": invitation_url(user),
            "days": link_days(), "site_url": settings.SITE_URL, "role": user.get_role_display(),
            "teams": [team.name for team in user.teams.order_by("name")],
        }
        subject = " ".join(render_to_string("emails/invitation-subject.txt", context).split())
        text = render_to_string("emails/invitation-body.txt", context)
        html = render_to_string("emails/invitation-body.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[user.email])
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - any mail failure: the admin is told and can resend
        logger.warning("invitation e-mail to user %s failed: %s", user.pk, exc.__class__.__name__)
        return InvitationResult(user=user, sent=False, error=f"{exc.__class__.__name__}: {exc}"[:200])
    return InvitationResult(user=user, sent=True)


def user_update(*, by: User, user_id: int, role: str | None = None, is_active: bool | None = None) -> User:
    """Change a role and/or deactivate or reactivate, refusing what would lock people out."""
    problems: dict[str, list[str]] = {}
    with transaction.atomic():
        # Lock every active admin row: two admins demoting each other at once cannot both pass
        # the "someone else stays an admin" check.
        list(_active_admins().select_for_update())
        user = User.objects.select_for_update().get(pk=user_id)
        _check_may_change(by, user)
        if role is not None and role not in Role.values:
            problems["role"] = [f"“{role}” is not a role: choose one of {', '.join(Role.values)}."]
        demoting = role is not None and user.role == Role.ADMIN and role != Role.ADMIN and not user.is_superuser
        deactivating = is_active is False and user.is_active
        if user.pk == by.pk:
            if deactivating:
                problems["is_active"] = ["You cannot deactivate your own account: ask another CX admin."]
            if demoting:
                problems.setdefault("role", []).append(
                    "You cannot remove your own CX admin role: ask another CX admin.")
        elif (demoting or deactivating) and user.is_admin_role and user.is_active \
                and not _active_admins().exclude(pk=user.pk).exists():
            field = "role" if demoting else "is_active"
            problems.setdefault(field, []).append(
                f"{user.display_name} is the last active CX admin: make someone else a CX admin first.")
        if problems:
            raise ValidationError(problems)
        changed = []
        if role is not None and role != user.role:
            user.role = role
            changed.append("role")
        if is_active is not None and is_active != user.is_active:
            user.is_active = is_active
            changed.append("is_active")
        if changed:
            user.save(update_fields=changed)
            logger.info("user %s changed by %s: %s", user.pk, by.pk, ", ".join(changed))
            if deactivating:
                user_sessions_end(user_id=user.pk)  # signed out everywhere, at once
    return user

