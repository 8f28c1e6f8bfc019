"""The Django door: `POST|HEAD /webhooks/<slug>/` as a Django view (surveys.webhook_urls).

It serves webhooks wherever Django's handler runs: the web process (`config.wsgi`, Procfile
`web`), `make run`, runserver and the test client. Deployments that need throughput route
/webhooks/ to the ingest server instead (surveys.ingest.asgi); both run the same decisions
(surveys.ingest.checks).

`receive()` is this door's request, free of Django: `check()`, the per-source rate limit, then
the delivery is stored with one autocommitted INSERT (surveys.ingest.store) and published once
committed. Django's handler and middleware do the rest: the request id, the request metrics, the
security headers, the database connection's life (CONN_MAX_AGE, CONN_HEALTH_CHECKS)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from csp.decorators import csp_exempt
from django.core.exceptions import RequestDataTooBig
from dataclasses import replace

from django.db import DatabaseError, DataError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from surveys import stats
from surveys.ingest import refusals
from surveys.ingest.checks import RATE_LIMITED, Answer, check, stored, unavailable, unstorable
from surveys.ingest.store import store_delivery

logger = logging.getLogger("surveys.webhooks")


@csrf_exempt
@csp_exempt()  # a JSON answer to a machine: no page to protect, no policy to build per request
def webhook_receive(request, slug: str):
    sender = refusals.sender_address(request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", ""))
    answer = receive(request.method, slug, headers_from_environ(request.META), request.META.get("QUERY_STRING", ""),
                     lambda _length: _body(request), secure=request.is_secure(), sender=sender)
    response = HttpResponse(status=answer.status) if answer.body is None else JsonResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
    return response


def receive(method: str, slug: str, headers: dict[str, str], query_string: str,
            read_body: Callable[[int], bytes | None], secure: bool = True, sender: str = "") -> Answer:
    """The answer to one request: `check()`, then the per-source rate limit, then the delivery is
    committed (and published once it is). A refusal is counted and sampled (surveys.ingest.refusals)."""
    read: list[bytes | None] = []

    def remembered(length: int) -> bytes | None:
        read.append(read_body(length))
        return read[-1]

    try:
        answer = _receive(method, slug, headers, query_string, remembered, secure)
    except DataError as exc:  # the data, not the database: retrying cannot help
        answer = unstorable(slug, exc)
    except DatabaseError as exc:  # OperationalError, InterfaceError: the database is unreachable
        return unavailable(exc)
    except Exception as exc:  # never a 500 to a sender: it retries and the delivery is not lost
        logger.exception("webhook receive failed")
        return unavailable(exc)
    if answer.rejected is not None:
        try:
            refusals.refused(answer, slug, headers, read[0] if read else None, sender)
        except Exception:  # noqa: BLE001 - counting never changes the answer
            logger.exception("refusal not recorded")
    return answer


def _receive(method: str, slug: str, headers: dict[str, str], query_string: str,
             read_body: Callable[[int], bytes | None], secure: bool) -> Answer:
    outcome = check(method, slug, headers, query_string, read_body, secure)
    if isinstance(outcome, Answer):
        return outcome
    if stats.rate_limited(slug, outcome.source.rate_limit_per_second, time.time()):
        return replace(RATE_LIMITED, rejected=(slug, "rate_limited"))
    pk, delivery_id, created = store_delivery(outcome.source, outcome.delivery_id, outcome.content_type,
                                              outcome.headers, outcome.body)
    return stored(pk, delivery_id, created)


def headers_from_environ(meta) -> dict[str, str]:
    """Request headers with lower-case names, as Django's `request.headers` has them (HTTP_* plus
    CONTENT_TYPE and CONTENT_LENGTH), from `request.META`."""
    headers = {key[5:].replace("_", "-").lower(): value for key, value in meta.items() if key[:5] == "HTTP_"}
    if "CONTENT_TYPE" in meta:
        headers["content-type"] = meta["CONTENT_TYPE"]
    if "CONTENT_LENGTH" in meta:
        headers["content-length"] = meta["CONTENT_LENGTH"]
    return headers


def _body(request) -> bytes | None:
    try:
        return request.body
    except RequestDataTooBig:  # over DATA_UPLOAD_MAX_MEMORY_SIZE: never read
        return None
