"""WSGI entry point (gunicorn: `config.wsgi:application`).

POST and HEAD on /webhooks/<slug>/ (with or without the slash) are answered by
`surveys.ingest.wsgi_receive` before Django's handler and middleware: the same decisions as the
Django view (`surveys.ingest.receive` is the one implementation of them) for about a third of
the CPU. Everything else, and any webhook request Django must answer itself (a Host outside
ALLOWED_HOSTS, an HTTPS redirect), goes through Django as usual."""

import os
import re

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from surveys.ingest import wsgi_direct, wsgi_receive  # noqa: E402  (needs the apps loaded)

WEBHOOK_PATH = re.compile(r"/webhooks/([A-Za-z0-9_-]+)/?")


def application(environ, start_response):
    if environ["REQUEST_METHOD"] in ("POST", "HEAD"):
        match = WEBHOOK_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is not None and wsgi_direct(environ):
            return wsgi_receive(environ, start_response, match.group(1))
    return django_application(environ, start_response)
