"""Where a browser session stands with the second factor.

Between the password and the code nobody is signed in: the session only holds a
`PendingSignIn` (who, through which backend, where to go next, since when), for
`TWO_FACTOR_PENDING_SECONDS`. Django's `login()` runs once the code is accepted (or the
authenticator is set up), so a session that is signed in has passed both steps, and the API's
session authentication never sees a half-signed-in user. django-otp's OTPMiddleware tells
whether the session passed a code (`request.user.is_verified()`).

A signed-in session is **complete** when it passed a code, came through single sign-on, or its
user needs no second factor (no authenticator and a role the policy leaves free). The gate
(accounts.two_factor.middleware) turns any other signed-in session back into a pending sign-in,
so a policy switched on, an authenticator added in another browser or a reset by an admin takes
effect at the session's next request.

Single sign-on hook: a session signed in through a backend whose dotted path is, or starts
with, an entry of `TWO_FACTOR_SSO_BACKENDS` (default: anything under `accounts.sso.` and
`mozilla_django_oidc.`) is never asked for a code: the identity provider owns the second factor.
An SSO callback that signs in through another backend calls `mark_single_sign_on(request)` after
`login()`."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import django_otp
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth import login as auth_login

from accounts.models import User
from accounts.two_factor.services import second_factor_needed

PENDING_KEY = "two_factor_pending"
SSO_SESSION_KEY = "two_factor_sso"


@dataclass(frozen=True)
class PendingSignIn:
    user_id: int
    backend: str
    next_url: str
    started_at: float

    @property
    def expired(self) -> bool:
        return time.time() - self.started_at > settings.TWO_FACTOR_PENDING_SECONDS


def pending_start(request, *, user, backend: str, next_url: str = "") -> PendingSignIn:
    """The password (or an earlier sign-in) is proven: remember who, until the code."""
    pending = PendingSignIn(user_id=user.pk, backend=backend, next_url=next_url, started_at=time.time())
    request.session.cycle_key()
    request.session[PENDING_KEY] = asdict(pending)
    return pending


def pending_get(request) -> PendingSignIn | None:
    """The pending sign-in of this session; None when there is none or it expired (then dropped)."""
    data = request.session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None
    try:
        pending = PendingSignIn(**data)
    except TypeError:
        pending = None
    if pending is None or pending.expired:
        pending_clear(request)
        return None
    return pending


def pending_clear(request) -> None:
    request.session.pop(PENDING_KEY, None)


def pending_user(pending: PendingSignIn) -> User | None:
    return User.objects.filter(pk=pending.user_id, is_active=True).first()


def sign_in_complete(request, *, pending: PendingSignIn, user, device=None) -> None:
    """Sign the user in for real, through the backend that checked the password, and record the
    device that passed the code in the session (django-otp)."""
    pending_clear(request)
    auth_login(request, user, backend=pending.backend)
    if device is not None:
        django_otp.login(request, device)


def mark_single_sign_on(request) -> None:
    """For an SSO callback whose backend is not in TWO_FACTOR_SSO_BACKENDS: call after login()."""
    request.session[SSO_SESSION_KEY] = True


def is_single_sign_on(request) -> bool:
    if request.session.get(SSO_SESSION_KEY):
        return True
    backend = request.session.get(BACKEND_SESSION_KEY) or ""
    return any(backend == entry or (entry.endswith(".") and backend.startswith(entry))
               for entry in settings.TWO_FACTOR_SSO_BACKENDS)


def missing_second_factor(request) -> str | None:
    """For a signed-in session: None when it is complete, else "code" or "enrol"."""
    user = request.user
    if not user.is_authenticated:
        return None
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return None
    if is_single_sign_on(request):
        return None
    return second_factor_needed(user)
