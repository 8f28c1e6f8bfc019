"""Sign-in throttling: django-axes in front of Django's ModelBackend.

Failed sign-ins are counted in the shared Redis cache (axes' cache handler, atomic INCR), per
user name and per client address; at LOGIN_FAILURE_LIMIT the user name (or the address) is
locked for LOGIN_LOCKOUT_MINUTES and the sign-in page answers 429 with Retry-After."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings


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
