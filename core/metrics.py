"""Prometheus metrics at /metrics: request rates and latencies, plus the domain's own figures.

- Request metrics are recorded by `RequestMetricsMiddleware` with prometheus-client. Under
  gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR (an empty directory, wiped at
  start; the Procfile and docker-compose do it): each worker writes its samples there and a
  scrape adds them up (config/gunicorn.py marks dead workers).
- Domain figures are read from PostgreSQL and Redis at scrape time by collectors each app registers
  (`register_collector`: surveys.metrics, cases.metrics), so they
  are right whichever process answers the scrape and survive restarts.

Access: with METRICS_TOKEN set, a scrape needs `Authorization: Bearer <token>`; without it only
loopback clients (127.0.0.1, ::1) are answered, everyone else gets 404.
"""

from __future__ import annotations

import hmac
import logging
import os
import time

from django.conf import settings
from django.http import Http404, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "closeloop_http_requests_total", "HTTP requests answered, by route and status.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "closeloop_http_request_duration_seconds",
    "Time to answer an HTTP request, by route.",
    ["method", "route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LOOPBACK = {"127.0.0.1", "::1"}
# Label values come only from these sets: a client choosing the method (or a path) must not be
# able to add series. Any other method is counted as "other"; routes are the URL patterns.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def _route(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"  # 404s for unknown paths: one label, not one per path tried
    return match.route or match.view_name or "unknown"


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        route = _route(request)
        if route != "metrics":
            method = method_label(request.method)
            LATENCY.labels(method, route).observe(time.perf_counter() - started)
            REQUESTS.labels(method, route, str(response.status_code)).inc()
        return response


class QueueCollector:
    """Each broker queue's depth (settings.CELERY_TASK_QUEUES: one per kind of work, which the
    Kubernetes autoscalers read) and whether the broker answered, read on each scrape."""

    def collect(self):
        depth = GaugeMetricFamily("closeloop_celery_queue_depth", "Tasks waiting in the broker queue.", labels=["queue"])
        up = GaugeMetricFamily("closeloop_broker_up", "1 when the broker (Redis) answered this scrape.")
        try:
            for queue, waiting in celery_queue_depths().items():
                depth.add_metric([queue], waiting)
            up.add_metric([], 1)
        except Exception as exc:
            logger.warning("broker unreachable for metrics", extra={"error": type(exc).__name__})
            up.add_metric([], 0)
        yield depth
        yield up


_domain_collectors: list = [QueueCollector()]


def register_collector(collector) -> None:
    """An app adds the figures it owns (read at scrape time) from its AppConfig.ready()."""
    _domain_collectors.append(collector)


def celery_queue_depths() -> dict[str, int]:
    """Messages waiting in each of the app's queues, asked through Celery's own broker connection
    (so a Sentinel-managed broker is followed too)."""
    from celery import current_app

    names = [queue.name for queue in settings.CELERY_TASK_QUEUES] or ["celery"]
    with current_app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=0, timeout=2)
        channel = conn.default_channel
        # (A declare on the Redis transport writes nothing; it answers the length of the lists.)
        return {name: int(channel.queue_declare(name).message_count) for name in names}


def celery_queue_depth(queue: str = "celery") -> int:
    """Messages waiting in one queue."""
    return celery_queue_depths()[queue]


def registry() -> CollectorRegistry:
    """Request metrics (this process, or all gunicorn workers in multiprocess mode) + domain."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
    else:
        reg = CollectorRegistry()
        reg.register(_ProcessRequestMetrics())
    for collector in _domain_collectors:
        reg.register(collector)
    return reg


class _ProcessRequestMetrics:
    def collect(self):
        yield from REQUESTS.collect()
        yield from LATENCY.collect()


def authorized(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        return header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token)
    return request.META.get("REMOTE_ADDR", "") in LOOPBACK and not request.META.get("HTTP_X_FORWARDED_FOR")


def metrics_view(request):
    if not authorized(request):
        raise Http404  # do not advertise the endpoint
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
