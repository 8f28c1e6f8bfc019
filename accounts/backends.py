"""Sign-in throttling: django-axes in front of the ModelBackend; the ModelBackend itself.

Failed sign-ins are counted in the shared Redis cache (axes' cache handler, atomic INCR), per
user name and per client address; at LOGIN_FAILURE_LIMIT the user name (or the address) is
locked for LOGIN_LOCKOUT_MINUTES and the sign-in page answers 429 with Retry-After.

`ModelBackend` is Django's, with the signed-in person of every request read by a statement
compiled once per process (core.compiled) and built by core.lean: Django's built and compiled the
same `User.objects.get(pk=...)` on every signed-in request, about 0.3 ms of CPU (a twentieth of
an inbox page, bench/page_cpu.py). Signing in (password checks, the timing of unknown names,
permissions) is Django's own. A session stores the path of the backend that signed it in;
sessions name Django's ModelBackend, as before it was replaced here, and are read as naming this
one (accounts.sessions, LEGACY_BACKENDS): nobody is signed out by the change, nor by going back."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth import backends
from django.db import router

from accounts.models import User
from core.compiled import compiled_values
from core.lean import lean_instances

PATH = "accounts.backends.ModelBackend"
# Backends replaced by one of ours: a session naming one is read as naming its replacement.
LEGACY_BACKENDS = {"django.contrib.auth.backends.ModelBackend": PATH}
_FIELDS = tuple(field.attname for field in User._meta.concrete_fields)


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id):
        if type(user_id) is not int:
            return super().get_user(user_id)
        using = router.db_for_read(User)
        rows = compiled_values(("accounts.backend_user",), _user_query, {"pk": user_id}, using=using)
        if not rows:
            return None
        user = lean_instances(User, rows, _FIELDS, using=using)[0]
        return user if self.user_can_authenticate(user) else None


def _user_query(args: dict):
    """What Django's ModelBackend.get_user reads: the user's row through the default manager."""
    return User._default_manager.filter(pk=args["pk"]).values(*_FIELDS)


class ThrottledAuthenticationBackend(AxesStandaloneBackend):
    """axes' check, skipped only for calls that carry no request at all (test clients'
    `login()`, shell use): every HTTP sign-in passes a request and is throttled."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or behind our TLS proxy (BEHIND_TLS_PROXY) the
    address that proxy appended last to X-Forwarded-For (earlier entries are client-supplied)."""
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR", "")
