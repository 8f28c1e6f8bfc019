"""gunicorn settings for the ingest server (Procfile `ingest`, docker-compose, Kubernetes):
`gunicorn -c config/gunicorn_ingest.py config.asgi:application`. The web server's settings
(config/gunicorn.py: logging, hooks, timeouts) with an event loop per process instead of threads.
Everything can be overridden with GUNICORN_CMD_ARGS or the command line."""

import os

from config.gunicorn import *  # noqa: F403  (the web server's settings and hooks, then the differences)

bind = f"{os.environ.get('INGEST_HOST', '0.0.0.0')}:{os.environ.get('INGEST_PORT', '8001')}"
# uvicorn's worker (config.ingest_worker: uvicorn-worker's, ending on its master's SIGQUIT): webhook
# requests are checked in the event loop and committed together (group commit), so one process per
# core keeps every core busy; threads do not apply.
worker_class = "config.ingest_worker.IngestWorker"
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)
