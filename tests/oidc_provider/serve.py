"""Start the test provider: `python -m tests.oidc_provider.serve` with OIDC_PROVIDER_DB and
OIDC_PROVIDER_RSA_KEY set. It migrates its SQLite file, binds a free port on 127.0.0.1, prints
`listening <port>` on one line (the test reads it: no polling) and serves until terminated.

OIDC_PROVIDER_ISSUER is the issuer it names in its tokens: the test does not know the port before
the process binds, so the issuer is set here from the port unless given."""

import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def main() -> None:
    # Bound first (port 0: the system picks a free one), so the issuer can name the port before
    # Django's settings are read; the application is attached once Django is set up.
    server = make_server("127.0.0.1", 0, None, server_class=ThreadingServer, handler_class=QuietHandler)
    port = server.server_port
    os.environ.setdefault("OIDC_PROVIDER_ISSUER", f"http://127.0.0.1:{port}/o")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from django.core.wsgi import get_wsgi_application

    server.set_app(get_wsgi_application())
    print(f"listening {port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
