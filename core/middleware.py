"""Request id: taken from X-Request-ID (a proxy's or the caller's) when it is sane, generated
otherwise; set for every log line of the request (core.logging) and every Celery task the
request enqueues (core.celery_context), and echoed in the response."""

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
