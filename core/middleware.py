"""Request id: taken from X-Request-ID (a proxy's or the caller's) when it is sane, generated
otherwise; set for every log line of the request (core.logging) and every Celery task the
request enqueues (core.celery_context), and echoed in the response. And a sentence for the
empty 405s of Django's method decorators."""

from __future__ import annotations

import random
import re

from core.logging import request_id_var

HEADER = "HTTP_X_REQUEST_ID"
VALID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def new_request_id() -> str:
    """32 hex digits. A label to follow one request through the logs, not a secret: drawn from
    the process's PRNG, without the system call of uuid4 (measurable on the webhook path)."""
    return f"{random.getrandbits(128):032x}"


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get(HEADER, "")
        request_id = incoming if VALID.match(incoming) else new_request_id()
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class MethodNotAllowedMessageMiddleware:
    """A 405 that says what to do. Django's `require_POST` and `require_GET` answer with an empty
    body: someone who opens a form's address in the browser (or follows a shared link to an
    action) saw a blank page. Here an empty 405 gets a sentence in the viewer's language naming
    the methods the address takes. Answers that already carry a body (DRF's JSON) are left alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not getattr(response, "streaming", False) and not response.content:
            from django.utils.translation import gettext

            allowed = response.get("Allow", "")
            response.content = gettext(
                "This address cannot be opened with %(method)s. It takes %(allowed)s: use the form or "
                "button on the page that leads here."
            ) % {"method": request.method, "allowed": allowed or gettext("another method")}
            response["Content-Type"] = "text/plain; charset=utf-8"
        return response
