"""gunicorn settings for production's web server (Procfile, docker-compose): `gunicorn -c
config/gunicorn.py config.wsgi:application`. The ingest server reads config/gunicorn_ingest.py,
which starts from these. Everything can be overridden with GUNICORN_CMD_ARGS."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# One process per core of eight threads each. Measured on 2 cores (docs/benchmarks_contact_policy.md,
# notes of 2026-12-05): 4 x 2 gave the contact-policy API a shorter tail alone (p99 11-14 ms at
# 200/s against 18-42 ms), but under 200 agents, 20 managers and 100 webhooks a second its four
# processes took the cores from the ingest server, the worker and PostgreSQL: pages p95 4-5 s
# against 0.5-0.6 s, and 85 webhooks refused. Two processes, each held to about one core by the
# interpreter lock, leave the rest to them. WEB_CONCURRENCY=4 GUNICORN_THREADS=2 where the web
# server has the machine to itself.
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)
threads = int(os.environ.get("GUNICORN_THREADS") or 8)
# gthread, with each request read in full in the worker's event loop before a thread takes it:
# senders that stall after their headers (slowloris, bad networks) never hold the threads
# (config/gunicorn_worker.py; GUNICORN_READ_TIMEOUT). The ingest server's config replaces it.
worker_class = "config.gunicorn_worker.BufferedThreadWorker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
# Replace a worker after this many requests (0: never, gunicorn's default). Measured: with 2,000,
# the web process answering webhooks at 2,700/s restarted a worker every second and dropped kept
# connections (386 socket errors in 30 s, 1,093/s). Set it only against a leak you have seen.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
# Access log without query strings: searches can carry customer names or e-mails; the logger
# class also redacts, whatever the format, query strings and link tokens (/r/<token>/) in every
# line (config/gunicorn_logging.py). The ingest
# server (Procfile `ingest`) sets GUNICORN_ACCESS_LOG="": a line per webhook at thousands a second
# costs more than the webhook, and its Prometheus metrics count every request.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'
logger_class = "config.gunicorn_logging.RedactingLogger"


def on_starting(server):
    """Multiprocess Prometheus metrics: start from an empty directory."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.remove(os.path.join(directory, name))


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """The application is loaded in this worker: move what it loaded (modules, models, URL
    patterns, settings, translations: several hundred thousand objects that live as long as the
    process) out of the garbage collector's generations, so a full collection does not walk them
    in the middle of a request (gc.freeze, Python 3.7+, as Instagram's Django servers do)."""
    import gc

    gc.freeze()
    # A request allocates tens of thousands of short-lived objects: collect the youngest
    # generation every 10,000 allocations instead of 700 (a young collection costs the same
    # whatever the threshold, so there are fewer of them), the older ones as often as before.
    gc.set_threshold(10_000, 10, 10)
