"""ASGI entry point: the ingest server (Procfile `ingest`: gunicorn with uvicorn workers,
`config.asgi:application`).

POST and HEAD on /webhooks/<slug>/ (with or without the slash) are answered by
`surveys.ingest.asgi.asgi_receive` in the event loop, with group commit; the same decisions as
the Django view (`surveys.ingest.checks.check`). Everything else, and any webhook
request Django must answer itself (a Host outside ALLOWED_HOSTS), goes to Django's ASGI handler,
so a proxy that sends the ingest server a page still gets it; the web process (config.wsgi) is
the one meant for people."""

import os
import re

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_asgi_application()

from django.conf import settings  # noqa: E402  (needs the apps loaded)

from surveys.ingest.asgi import asgi_receive, host_allowed, shutdown  # noqa: E402

WEBHOOK_PATH = re.compile(r"/webhooks/([A-Za-z0-9_-]+)/?")


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["method"] in ("POST", "HEAD"):
        match = WEBHOOK_PATH.fullmatch(scope["path"])
        if match is not None and host_allowed(_host(scope)):
            return await asgi_receive(scope, receive, send, match.group(1))
    if scope["type"] == "lifespan":
        return await _lifespan(receive, send)
    return await django_application(scope, receive, send)


def _host(scope) -> str:
    headers = dict(scope.get("headers", ()))
    if settings.USE_X_FORWARDED_HOST and b"x-forwarded-host" in headers:
        return headers[b"x-forwarded-host"].decode("latin-1")
    if b"host" in headers:
        return headers[b"host"].decode("latin-1")
    server = scope.get("server") or ("", "")
    return f"{server[0]}:{server[1]}"


async def _lifespan(receive, send):
    """Start-up needs nothing; at shutdown the database connections are closed and the
    deliveries still waiting to be published are sent (surveys.ingest.publish also does so at exit)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return
