"""Who is acting, and from where, for the audit entries written now.

- In a request (audit.middleware.AuditOriginMiddleware): the signed-in user, read when an
  entry is written (the API authenticates its token inside the view, after the middleware ran),
  the client address (accounts.backends.client_ip: the same one sign-in throttling uses), the
  user agent, the request id (core.middleware) and the door: `page`, `admin` or `api`.
- A management command: `command <name>`, taken from the command line (`manage.py <name>`).
- Anything else (a worker, a shell): `system`.
`acting_as(via=...)` names the door explicitly for a block of code.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import sys
from contextvars import ContextVar
from dataclasses import dataclass

from accounts.backends import client_ip
from core.logging import request_id_var

USER_AGENT_MAX = 300


@dataclass(frozen=True)
class Origin:
    via: str
    request: object | None = None  # the HttpRequest whose user acts
    remote_addr: str | None = None
    user_agent: str = ""


_origin: ContextVar[Origin | None] = ContextVar("audit_origin", default=None)


def clean_text(value, limit: int) -> str:
    """Text a client sent, storable in any database (no NUL) and bounded."""
    return str(value or "").replace("\x00", "")[:limit]


def door(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "page"


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def origin_of_request(request) -> Origin:
    address = _address(client_ip(request) or "")
    return Origin(via=door(request.path_info or "/"), request=request, remote_addr=address,
                  user_agent=clean_text(request.META.get("HTTP_USER_AGENT"), USER_AGENT_MAX))


def process_via(argv: list[str] | None = None) -> str:
    """`command <name>` for `manage.py <name>` (or django-admin), else `system`."""
    argv = sys.argv if argv is None else argv
    program = os.path.basename(argv[0]) if argv else ""
    if program in ("manage.py", "django-admin", "django-admin.py", "__main__.py") and len(argv) > 1 \
            and not argv[1].startswith("-"):
        return f"command {argv[1]}"[:120]
    return "system"


@contextlib.contextmanager
def request_origin(request):
    token = _origin.set(origin_of_request(request))
    try:
        yield
    finally:
        _origin.reset(token)


@contextlib.contextmanager
def acting_as(*, via: str):
    """Entries written inside the block say they came through `via` (a task, a command run from
    code), with no request."""
    token = _origin.set(Origin(via=via))
    try:
        yield
    finally:
        _origin.reset(token)


def request_id() -> str | None:
    """The current request's id (AUDITLOG_CID_GETTER: stored in the entry's `cid`)."""
    return request_id_var.get()


def _authenticated(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def origin_fields(actor=None) -> dict:
    """The fields AuditEntry.objects.create fills when the caller did not: actor (with copies of
    the user name and e-mail), door, address, user agent."""
    origin = _origin.get()
    if actor is None and origin is not None and origin.request is not None:
        actor = _authenticated(getattr(origin.request, "user", None))
    fields = {
        "cid": request_id(),
        "via": origin.via if origin is not None else process_via(),
        "remote_addr": origin.remote_addr if origin is not None else None,
        "user_agent": origin.user_agent if origin is not None else "",
    }
    if actor is not None:
        fields.update(actor=actor, actor_username=actor.get_username(), actor_email=actor.email or None)
    return fields
