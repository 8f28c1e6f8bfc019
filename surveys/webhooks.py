"""POST /webhooks/<slug>/ through Django: verify, store, answer. Nothing else happens inside the request.

The decisions (404, 413, 415, 401, 400, 429, 202/200, 503; HEAD for SurveyMonkey) are
`surveys.ingest.receive`, shared with the WSGI fast path in config.wsgi, which answers the same
URLs before Django's middleware under gunicorn. This view serves them wherever Django's handler
does (the test client, `runserver`, an ASGI deployment)."""

from __future__ import annotations

from csp.decorators import csp_exempt
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.utils import timezone  # noqa: F401  (tests pin the clock as surveys.webhooks.timezone.now)
from django.views.decorators.csrf import csrf_exempt

from surveys.ingest import headers_from_environ, receive


@csrf_exempt
@csp_exempt()  # a JSON answer to a machine: no page to protect, no policy to build per request
def webhook_receive(request, slug: str):
    answer = receive(request.method, slug, headers_from_environ(request.META), request.META.get("QUERY_STRING", ""),
                     lambda _length: _body(request), secure=request.is_secure())
    response = HttpResponse(status=answer.status) if answer.body is None else JsonResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
    return response


def _body(request) -> bytes | None:
    try:
        return request.body
    except RequestDataTooBig:  # over DATA_UPLOAD_MAX_MEMORY_SIZE: never read
        return None
