"""Every write on second factors: enrolment, the code check at sign-in, backup codes, removal,
a CX admin's reset and the per-role policy. Pages call these; none writes a device directly.

Devices are django-otp's: one `TOTPDevice` ("Authenticator app", its key made by django-otp from
20 random bytes) and one `StaticDevice` ("Backup codes") holding ten single-use codes. django-otp
checks a code: it accepts the current 30-second step and one either side, never a step at or
before the last one accepted (a replayed code is refused), and after each wrong code refuses any
code for 1, 2, 4, 8, ... seconds (`OTP_TOTP_THROTTLE_FACTOR`, `OTP_STATIC_THROTTLE_FACTOR`),
counted on the device, so across browsers and sign-ins. A refusal is a ValidationError whose
message_dict names the field, as in accounts.services.users.

A wrong code is recorded (django-otp's throttle) in its own transaction before the refusal is
raised, so raising never rolls the count back."""

from __future__ import annotations

import math
import re
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime

import django_otp
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from core.compiled import compiled_values
from accounts.two_factor.models import TwoFactorPolicy
from accounts.two_factor.policy import policy_changed, role_requires_second_factor
from accounts.two_factor.signals import SecondFactorChange, second_factor_changed

AUTHENTICATOR_NAME = "Authenticator app"
BACKUP_NAME = "Backup codes"
BACKUP_CODE_COUNT = 10

_TOTP_CODE = re.compile(r"^\d{6}$")
_BACKUP_CODE = re.compile(r"^[a-z2-7]{8}$")

WRONG_CODE = gettext_lazy("That code is not right, or it was used already: enter the code your authenticator app "
                          "shows now.")
WRONG_FORMAT = gettext_lazy("Enter the 6-digit code from your authenticator app, or one of your 8-character "
                            "backup codes.")


@dataclass(frozen=True)
class CodeCheck:
    """The answer to one code: accepted by `device`, or refused with a sentence (and, when
    wrong codes came too fast, how many seconds to wait)."""

    accepted: bool
    device: Device | None = None
    message: str = ""
    wait_seconds: int = 0

    @property
    def used_backup_code(self) -> bool:
        return isinstance(self.device, StaticDevice)


@dataclass(frozen=True)
class TwoFactorStatus:
    enrolled: bool
    required: bool
    since: datetime | None = None
    last_used: datetime | None = None
    backup_codes_left: int = 0


def normalise(code: str) -> str:
    """What a person typed, as stored: spaces and hyphens dropped, lower case."""
    return re.sub(r"[\s-]", "", code or "").lower()


def authenticator(user) -> TOTPDevice | None:
    """The user's confirmed authenticator app, if they have one."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def _backup_device(user) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, name=BACKUP_NAME).order_by("id").first()


def users_with_authenticator() -> set[int]:
    """Ids of the users who sign in with an authenticator app (the users page's column)."""
    return set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))


def second_factor_needed(user) -> str | None:
    """After the password: "code" (they have an authenticator), "enrol" (their role requires one
    and they have none) or None (sign in now)."""
    if _has_authenticator(user.pk):
        return "code"
    if role_requires_second_factor(user):
        return "enrol"
    return None


def _has_authenticator(user_id: int) -> bool:
    """`TOTPDevice.objects.filter(user=user, confirmed=True).exists()`, from its statement compiled
    once per process (core.compiled): every signed-in request asks it (the gate's middleware)."""
    using = router.db_for_read(TOTPDevice)
    return bool(compiled_values(("two_factor.has_authenticator",), _authenticator_query, {"user": user_id}, using=using))


def _authenticator_query(args: dict):
    return TOTPDevice.objects.filter(user_id=args["user"], confirmed=True).values("pk")[:1]


def status(user) -> TwoFactorStatus:
    device = authenticator(user)
    if device is None:
        return TwoFactorStatus(enrolled=False, required=role_requires_second_factor(user))
    backup = _backup_device(user)
    return TwoFactorStatus(enrolled=True, required=role_requires_second_factor(user), since=device.created_at,
                           last_used=device.last_used_at,
                           backup_codes_left=backup.token_set.count() if backup else 0)


def _throttled(device: Device) -> CodeCheck | None:
    allowed, info = device.verify_is_allowed()
    if allowed:
        return None
    locked_until = (info or {}).get("locked_until") or timezone.now()
    wait = max(1, math.ceil((locked_until - timezone.now()).total_seconds()))
    message = ngettext("Too many wrong codes: wait %(wait)d second, then enter the current code.",
                       "Too many wrong codes: wait %(wait)d seconds, then enter the current code.", wait)
    message %= {"wait": wait}
    return CodeCheck(False, message=message, wait_seconds=wait)


def code_check(*, user, code: str) -> CodeCheck:
    """A code at sign-in or before a change: the authenticator's 6 digits, or a backup code
    (which is then used up). Wrong and replayed codes are refused and counted on the device."""
    code = normalise(code)
    if _TOTP_CODE.match(code):
        device = authenticator(user)
    elif _BACKUP_CODE.match(code):
        device = _backup_device(user) if authenticator(user) else None
    else:
        return CodeCheck(False, message=str(WRONG_FORMAT))
    if device is None:
        return CodeCheck(False, message=str(WRONG_CODE))
    if refused := _throttled(device):
        return refused
    accepted = django_otp.verify_token(user, device.persistent_id, code)  # locks the row, commits the count
    if accepted is None:
        return CodeCheck(False, message=str(WRONG_CODE))
    return CodeCheck(True, device=accepted)


def _require_fresh_code(user, code: str) -> CodeCheck:
    check = code_check(user=user, code=code)
    if not check.accepted:
        raise ValidationError({"code": check.message})
    return check


def _announce(action: str, *, by, user, detail: str = "") -> None:
    change = SecondFactorChange(action=action, by_id=getattr(by, "pk", None), user_id=getattr(user, "pk", None),
                                detail=detail)
    transaction.on_commit(lambda: second_factor_changed.send(sender=SecondFactorChange, change=change))


# --- enrolment --------------------------------------------------------------------------------

def enrolment_device(user) -> TOTPDevice:
    """The authenticator being set up, not yet confirmed: made on the first visit (django-otp
    draws its key), the same one on a reload, so the QR code a phone scanned stays valid."""
    if authenticator(user) is not None:
        raise ValidationError(_("You already sign in with an authenticator app: remove it first to set up another."))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


def manual_key(device: TOTPDevice) -> str:
    """The key as authenticator apps take it typed in: base32, in groups of four."""
    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i:i + 4] for i in range(0, len(key), 4))


def enrolment_confirm(*, user, code: str) -> tuple[TOTPDevice, list[str]]:
    """The first code from the app proves it holds the key: the authenticator becomes the user's
    second factor and ten backup codes are made (returned, to be shown once)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None or authenticator(user) is not None:
        raise ValidationError({"code": _("Nothing is being set up here: open the set-up page again.")})
    if refused := _throttled(device):
        raise ValidationError({"code": refused.message})
    normalised = normalise(code)
    if not _TOTP_CODE.match(normalised):
        raise ValidationError({"code": _("Enter the 6-digit code your authenticator app shows for Closeloop.")})
    if django_otp.verify_token(user, device.persistent_id, normalised) is None:
        raise ValidationError({"code": _("That code does not match: check the app's clock is right and enter the "
                                         "code it shows now.")})
    with transaction.atomic():
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        codes = _backup_codes_replace(user)
        _announce("enrolled", by=user, user=user)
    device.refresh_from_db()
    return device, codes


# --- backup codes -----------------------------------------------------------------------------

def _backup_codes_replace(user) -> list[str]:
    device = _backup_device(user) or StaticDevice.objects.create(user=user, name=BACKUP_NAME, confirmed=True)
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    device.throttle_reset()
    return codes


def backup_codes(*, user, code: str) -> list[str]:
    """The backup codes not used yet, after a fresh code."""
    _require_fresh_code(user, code)
    device = _backup_device(user)
    return list(device.token_set.order_by("id").values_list("token", flat=True)) if device else []


def backup_codes_regenerate(*, user, code: str) -> list[str]:
    """Ten new backup codes after a fresh code; the old ones stop working."""
    _require_fresh_code(user, code)
    with transaction.atomic():
        codes = _backup_codes_replace(user)
        _announce("backup_codes_regenerated", by=user, user=user)
    return codes


# --- removal and reset ------------------------------------------------------------------------

def _delete_devices(user) -> int:
    deleted, _ = TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    return deleted


def device_remove(*, user, code: str) -> None:
    """The user removes their own authenticator (and backup codes), after a fresh code."""
    _require_fresh_code(user, code)
    with transaction.atomic():
        _delete_devices(user)
        _announce("removed", by=user, user=user)


def two_factor_reset(*, by, user_id: int):
    """A CX admin removes someone's authenticator and backup codes (a lost phone): they sign in
    with their password alone next time, and set up a new app then if their role requires one.
    A superuser's is reset only by a superuser. `by` None is the command line
    (`manage.py two_factor_reset`), for the CX admin who lost their own phone."""
    if by is not None and not by.is_admin_role:
        raise PermissionDenied(_("Only CX admins reset a second factor."))
    user = User.objects.get(pk=user_id)
    if by is not None and user.is_superuser and not by.is_superuser:
        raise ValidationError(_("%(name)s is a superuser: only a superuser can reset their second factor.")
                              % {"name": user.username})
    with transaction.atomic():
        if not _delete_devices(user):
            raise ValidationError(_("%(name)s has no authenticator app to reset.") % {"name": user.display_name})
        _announce("reset", by=by, user=user)
    return user


# --- the policy -------------------------------------------------------------------------------

def policy_update(*, by, agents: bool, managers: bool, admins: bool) -> TwoFactorPolicy:
    if not by.is_admin_role:
        raise PermissionDenied(_("Only CX admins change the two-factor policy."))
    with transaction.atomic():
        policy = TwoFactorPolicy.load()
        policy.agents_required, policy.managers_required, policy.admins_required = agents, managers, admins
        policy.updated_by = by
        policy.save()
        policy_changed()
        _announce("policy_changed", by=by, user=None, detail=",".join(sorted(policy.required_roles())))
    return policy
