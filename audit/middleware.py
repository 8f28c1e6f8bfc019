"""Sets the audit origin (audit.context) for the request: after AuthenticationMiddleware, so the
signed-in user is there; the API's token user is read later, when an entry is written."""

from __future__ import annotations

from audit.context import request_origin


class AuditOriginMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with request_origin(request):
            return self.get_response(request)
