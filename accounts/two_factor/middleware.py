"""The gate every request passes (after django-otp's OTPMiddleware): no page until the second
factor is done.

- A pending sign-in (password given, code not yet): every page redirects to the code or set-up
  step; signing out, the sign-in page and the steps themselves stay open.
- A signed-in session that is not complete (accounts.two_factor.session): pages turn it back
  into a pending sign-in and redirect to the step; the API answers it as it answers anyone
  without credentials (401), so a request carrying an API token is judged by its token alone.
- Webhooks, health checks, metrics and static files are never touched."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, logout
from django.contrib.auth.models import AnonymousUser
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django_htmx.http import HttpResponseClientRedirect

from accounts.two_factor.services import second_factor_needed
from accounts.two_factor.session import PENDING_KEY, missing_second_factor, pending_get, pending_start, pending_user

STEP_URL_NAMES = {"code": "accounts:two_factor_code", "enrol": "accounts:two_factor_enrol"}


def _urls(*names: str) -> tuple[str, ...]:
    """The paths of the named routes this URL configuration has (a project serving only part of
    the product, such as a test's own URL conf, may lack the sign-in pages)."""
    paths = []
    for name in names:
        try:
            paths.append(reverse(name))
        except NoReverseMatch:
            continue
    return tuple(paths)


class TwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._untouched: tuple[str, ...] | None = None
        self._open_while_pending: tuple[str, ...] | None = None

    def _paths(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if self._untouched is None:
            static = "/" + settings.STATIC_URL.lstrip("/")
            self._untouched = (static, "/webhooks/", "/healthz", "/readyz", "/metrics", *_urls("logout"))
            self._open_while_pending = (*_urls("login", "accounts:two_factor_code", "accounts:two_factor_enrol"),
                                        "/api/", "/password-reset/")
        return self._untouched, self._open_while_pending

    def __call__(self, request):
        untouched, open_while_pending = self._paths()
        path = request.path_info
        if path.startswith(untouched):
            return self.get_response(request)
        if request.user.is_authenticated:
            missing = missing_second_factor(request)
            if missing:
                if path.startswith("/api/"):
                    request.user = AnonymousUser()
                    return self.get_response(request)
                user, backend = request.user, request.session.get(BACKEND_SESSION_KEY, "")
                next_url = request.get_full_path() if request.method == "GET" and not request.htmx else ""
                logout(request)
                pending_start(request, user=user, backend=backend, next_url=next_url)
                return _to_step(request, missing)
        elif PENDING_KEY in request.session and not path.startswith(open_while_pending):
            pending = pending_get(request)
            user = pending_user(pending) if pending else None
            if user is not None:
                return _to_step(request, second_factor_needed(user) or "code")
        return self.get_response(request)


def _to_step(request, step: str):
    url = reverse(STEP_URL_NAMES[step])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)
