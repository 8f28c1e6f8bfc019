"""The pages the reporting bench measures, and how: each URL timed through Django's test Client
in-process (WARMUP warm-ups, then REQUESTS requests), as the bench's manager. Runs in
bench.bench_reports' child process, against the data of bench.reports_data."""

from __future__ import annotations

import datetime
import statistics
import time

REQUESTS = 15
OTHER_REQUESTS = 3  # the pages outside the targets are timed for information only
WARMUP = 2

TARGETS = [
    ("Overdue dashboard (page)", "/reports/overdue/"),
    ("Root-cause Pareto (API)", "/api/v1/reports/root-causes-pareto/"),
    ("NPS trend, weekly (API)", "/api/v1/reports/scores-weekly/"),
]
OTHERS = [
    ("Root causes (page: Pareto, weekly, heat map, scores, suggestions)", "/reports/root-causes/"),
    ("Scores (page: weekly trend + by touchpoint)", "/reports/scores/"),
    ("NPS trend, monthly, 365 days (API)", "/api/v1/reports/scores-monthly/?date_from={year_ago}"),
    ("Closed-loop KPIs by team (page, business-hour durations)", "/reports/kpis/"),
    ("Recovery (page)", "/reports/recovery/"),
]



def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def _time(client, url: str, requests: int = REQUESTS) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first_started = time.perf_counter()
    response = client.get(url)
    first = (time.perf_counter() - first_started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    for _ in range(WARMUP - 1):
        client.get(url)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return {"first": first, "p50": statistics.median(timings), "p95": _percentile(timings, 95),
            "max": max(timings), "queries": len(queries)}


def _scope() -> dict:
    """What the manager's 5 teams hold, to say what the figures were computed over."""
    from django.utils import timezone

    from accounts.models import User
    from reporting.filters import ReportFilterForm

    manager = User.objects.get(username="bench_manager")
    form = ReportFilterForm({}, user=manager)
    form.is_valid()  # the default 90 days are only applied to a validated form (filters() reads cleaned_data)
    filters = form.filters()
    now = timezone.now()
    from cases.selectors import overdue_q

    return {
        "responses_90d": filters.responses().count(),
        "closed_90d": filters.cases(date_field="closed_at").filter(status="closed").count(),
        "open": filters.cases().exclude(status="closed").count(),
        "overdue": filters.cases().exclude(status="closed").filter(overdue_q(now)).count(),
    }


def measure() -> dict:
    from django.core.cache import cache
    from django.test import Client

    from accounts.models import User

    cache.clear()  # the filter bar's suggestions are cached: the first request pays for them
    client = Client()
    client.force_login(User.objects.get(username="bench_manager"))
    year_ago = (datetime.date.today() - datetime.timedelta(days=364)).isoformat()
    results = {"scope": _scope(), "targets": [], "others": []}
    for key, items, requests in (("targets", TARGETS, REQUESTS), ("others", OTHERS, OTHER_REQUESTS)):
        for label, url in items:
            results[key].append({"label": label, "url": url.format(year_ago=year_ago), "requests": requests,
                                 **_time(client, url.format(year_ago=year_ago), requests)})
    return results

