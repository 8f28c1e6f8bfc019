"""The CSRF token of a response, masked once per request.

Django masks the CSRF secret anew at each `get_token(request)` (a fresh random mask, 32
`SystemRandom.choice` calls), and a page asked for it five times: base.html's HTMX header, the top
bar's sign-out form, the content's forms, and the Jinja2 backend's `csrf_token` / `csrf_input`
lazies, which are evaluated again at every use (about 0.2-0.3 ms of CPU a page,
bench/page_cpu.py). Here the first use masks it with `get_token` and the others reuse that value,
as Django's own context processor does within one template render: one masked token per
response, a new one on the next request, so the token in a page still changes with every
response (the BREACH mitigation masking is for). A secret rotated during the request (signing
in: `rotate_token`) is masked afresh.

    token(request) -> str             # the masked token (sets the CSRF cookie, as get_token does)
    input_html(request) -> SafeString  # <input type="hidden" name="csrfmiddlewaretoken" ...>
    context(request) -> dict          # `csrf_token` (and for Jinja2 `csrf_input`), lazily

`context` is a context processor of both template engines (settings.TEMPLATES): for Django's it
replaces the built-in `csrf_token`, for Jinja2's the backend's own lazies. Lazy, as Django's: a
page that prints no token sets no cookie."""

from __future__ import annotations

from django.middleware.csrf import get_token
from django.utils.functional import SimpleLazyObject, lazy
from django.utils.html import format_html
from django.utils.safestring import SafeString

_ATTRIBUTE = "_closeloop_csrf"


def token(request) -> str:
    """`get_token(request)`, masked once per request (and per secret)."""
    secret = request.META.get("CSRF_COOKIE")
    kept = getattr(request, _ATTRIBUTE, None)
    if kept is not None and secret is not None and kept[0] == secret:
        return kept[1]
    masked = get_token(request)
    setattr(request, _ATTRIBUTE, (request.META.get("CSRF_COOKIE"), masked))
    return masked


def input_html(request) -> SafeString:
    """The hidden input Django's `csrf_input` writes, with the request's one token."""
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token(request))


_lazy_input = lazy(input_html, SafeString)


def context(request) -> dict:
    return {"csrf_token": SimpleLazyObject(lambda: token(request)), "csrf_input": _lazy_input(request)}
