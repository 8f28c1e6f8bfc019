"""gunicorn settings for bench/page_cpu.py's HTTP phase (`--http SECONDS`): one sync worker on
loopback, rendering as in production (settings.DEBUG off once the app is loaded, as the in-process
child does, so the bench needs neither collected static files nor a secret key of its own)."""

import os

bind = f"127.0.0.1:{os.environ['PAGE_CPU_PORT']}"
workers = 1
worker_class = "sync"
timeout = 60
accesslog = None
errorlog = "-"
loglevel = "warning"


def post_worker_init(worker):
    from django.conf import settings

    settings.DEBUG = False
