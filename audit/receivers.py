"""Sign-ins on the audit trail, from Django's own signals: every way in that calls
django.contrib.auth's login() or authenticate() (the sign-in page, the Django admin's, two-factor
and single sign-on flows that end in login()) is recorded without touching their views."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.context import clean_text
from audit.models import AuditEntry
from audit.services import AuditEvent, AuditTarget, audit_record


@receiver(user_logged_in, dispatch_uid="audit_sign_in")
def record_sign_in(sender, request, user, **kwargs):
    audit_record(AuditEvent(action=AuditEntry.Action.SIGN_IN, actor=user,
                            target=AuditTarget(model=get_user_model(), pk=user.pk, label=user.get_username())))


@receiver(user_logged_out, dispatch_uid="audit_sign_out")
def record_sign_out(sender, request, user, **kwargs):
    if user is None:  # signing out when not signed in
        return
    audit_record(AuditEvent(action=AuditEntry.Action.SIGN_OUT, actor=user,
                            target=AuditTarget(model=get_user_model(), pk=user.pk, label=user.get_username())))


@receiver(user_login_failed, dispatch_uid="audit_sign_in_failed")
def record_sign_in_failed(sender, credentials, request=None, **kwargs):
    """The name that was tried (Django has already replaced the password with stars), and the
    account it names when there is one."""
    User = get_user_model()
    name = clean_text(credentials.get(User.USERNAME_FIELD) or credentials.get("username"), 150)
    pk = User._default_manager.filter(**{User.USERNAME_FIELD: name}).values_list("pk", flat=True).first() \
        if name else None
    audit_record(AuditEvent(action=AuditEntry.Action.SIGN_IN_FAILED,
                            target=AuditTarget(model=User, pk=pk, label=name or "(no user name)"),
                            details={"username": name}))
