"""The pages the reporting bench measures, and how: each URL timed through Django's test Client
in-process (WARMUP warm-ups, then REQUESTS requests), as the bench's manager. Runs in
bench.bench_reports' child process, against the data of bench.reports_data."""

from __future__ import annotations

import datetime
import gc
import statistics
import time

REQUESTS = 15
OTHER_REQUESTS = 5  # every other page, API report and CSV (each under the same 500 ms target)
WARMUP = 2
SLOW_MS = 5000  # a first request over this is timed once more only (the bench stays bounded in time)
STATEMENT_TIMEOUT_S = 20  # and a statement over this is cancelled: the row says "over 20 s"

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
    ("Themes (page: volume, weekly, by touchpoint, scores)", "/reports/themes/"),
    ("Contact governance (page: breaches, over-contacted)", "/reports/contact/"),
    ("Segment comparison (page)", "/reports/segments/"),
    ("Scores by segment (page, ?by=segment)", "/reports/scores/?by=segment"),
    ("Scores filtered to a segment (page, ?segment=gold-customers)", "/reports/scores/?segment=gold-customers"),
    ("KPIs by segment (page, ?by=segment)", "/reports/kpis/?by=segment"),
    ("KPIs filtered to a segment (page, ?segment=enterprise)", "/reports/kpis/?segment=enterprise"),
    ("Root causes filtered to a segment (page)", "/reports/root-causes/?segment=high-value"),
    ("Recovery filtered to a segment (page)", "/reports/recovery/?segment=premium-smb"),
    ("Themes filtered to a segment (page)", "/reports/themes/?segment=gold-customers"),
    ("Reports index (/reports/, a redirect to the overdue page)", "/reports/"),
    ("Action plans (list, open)", "/plans/"),
    ("Action plans (list, all)", "/plans/?status=all"),
    ("Action plans (CSV)", "/plans/export.csv"),
    ("Action plan page: a team's touchpoint", "{plan_touchpoint}"),
    ("Action plan page: a team's root causes", "{plan_causes}"),
    ("Action plan page: a team's themes", "{plan_themes}"),
    ("Action plan page: organisation-wide touchpoint", "{plan_org_touchpoint}"),
    ("Action plan page: organisation-wide root causes", "{plan_org_causes}"),
    ("Action plan page: organisation-wide themes", "{plan_org_themes}"),
    ("Outer-loop alerts (page)", "/plans/alerts/"),
    ("API reports index (/api/v1/reports/)", "/api/v1/reports/"),
]
# Measured by other benches, not here: the journey map's reports (bench_journeys) and the
# closed-loop results and impact reports (bench_outcomes, whose data has the outcome events).
ELSEWHERE = ("journey-", "closed-loop-", "impact-", "fix-first")



def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def _api_items() -> list[tuple[str, str]]:
    """Every named report (/api/v1/reports/<name>/ and its CSV) this bench's data is for."""
    from reporting.reports import REPORTS

    items = []
    for name in REPORTS:
        if not name.startswith(ELSEWHERE):
            items.append((f"{name} (API)", f"/api/v1/reports/{name}/"))
            items.append((f"{name} (CSV)", f"/reports/export/{name}.csv"))
    return items


def _plan_urls() -> dict[str, str]:
    """A plan of each kind the manager sees (a team's and an organisation-wide one)."""
    from improvement.models import ActionPlan

    def first(touchpoints: bool = False, **kwargs) -> str:
        plans = ActionPlan.objects.filter(**kwargs)
        plan = (plans.exclude(touchpoints=[]) if touchpoints else plans).order_by("pk").first()
        return f"/plans/{plan.pk}/"

    from accounts.models import User

    manager = User.objects.get(username="bench_manager")
    mine = {"team__memberships__user": manager}
    return {
        "plan_touchpoint": first(**mine, touchpoints=True),
        "plan_causes": first(**mine, root_causes__isnull=False),
        "plan_themes": first(**mine, themes__isnull=False),
        "plan_org_touchpoint": first(team=None, touchpoints=True),
        "plan_org_causes": first(team=None, root_causes__isnull=False),
        "plan_org_themes": first(team=None, themes__isnull=False),
    }


def _selected(key: str, items):
    """BENCH_REPORTS_ONLY, a regular expression over "<list> <label> <URL>" (lists: targets,
    others, admin, api, api_admin), measures the rows it finds only."""
    import os
    import re

    only = os.environ.get("BENCH_REPORTS_ONLY")
    if not only:
        return items
    return [(label, url) for label, url in items if re.search(only, f"{key} {label} {url}")]


def _time(client, url: str, requests: int = REQUESTS) -> dict:
    """A first (cold) request, WARMUP - 1 more, then `requests` timed ones and one more to count
    the SQL queries. Bounded: when the first request took over SLOW_MS (ten times the target),
    one more request is timed, with its queries counted, and that is all."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from django.db.utils import OperationalError

    # Each row starts as a worker whose heap holds what it loaded: what the rows before left behind
    # (the test Client connects its signal receivers again on every request, each leaving a
    # weakref.finalize of 12 objects; DEBUG's query log) frozen too, so a full collection walking
    # it does not land in this row's requests (one request of five at 0.6-0.75 s on two pages whose
    # median is 7 and 129 ms, in runs of the whole bench; a gunicorn worker has neither).
    gc.collect()
    gc.freeze()
    first_started = time.perf_counter()
    try:
        response = client.get(url)
    except OperationalError:  # cancelled by STATEMENT_TIMEOUT_S: recorded as over it, not timed again
        over = STATEMENT_TIMEOUT_S * 1000.0
        return {"first": over, "p50": over, "p95": over, "max": over, "queries": 0, "timed": 0, "cancelled": True}
    first = (time.perf_counter() - first_started) * 1000
    assert response.status_code in (200, 302), (url, response.status_code)
    if first > SLOW_MS:
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            client.get(url)
            once = (time.perf_counter() - started) * 1000
        return {"first": first, "p50": once, "p95": once, "max": once, "queries": len(queries), "timed": 1}
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
            "max": max(timings), "queries": len(queries), "timed": requests}


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

    from accounts.models import Role

    from django.db import connection
    from django.db.backends.signals import connection_created

    def bounded(sender, connection, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT_S}s'")

    connection_created.connect(bounded, weak=False)
    connection.close()  # the next query opens a bounded connection
    cache.clear()  # the filter bar's suggestions are cached: the first request pays for them
    client = Client()
    client.force_login(User.objects.get(username="bench_manager"))
    admin, _created = User.objects.get_or_create(username="bench_admin", defaults={"role": Role.ADMIN})
    admin_client = Client()
    admin_client.force_login(admin)
    values = {"year_ago": (datetime.date.today() - datetime.timedelta(days=364)).isoformat(), **_plan_urls()}
    results = {"scope": _scope(), "targets": [], "others": [], "admin": [], "api": [], "api_admin": []}
    # The garbage collector as production's web workers have it (config/gunicorn.py's
    # post_worker_init, as bench_customers): what is loaded by now frozen, young collections every
    # 10,000 allocations. With Python's defaults a full collection walking the bench process's heap
    # landed in one request of five or so (single requests of 0.2-1.3 s on pages whose median is
    # 0.06-0.3 s, their SQL a few ms), which a gunicorn worker does not pay.
    from config.gunicorn import post_worker_init

    post_worker_init(None)
    for key, who, items, requests in (
        ("targets", client, TARGETS, REQUESTS),
        ("others", client, OTHERS, OTHER_REQUESTS),
        ("admin", admin_client, TARGETS + OTHERS, OTHER_REQUESTS),
        ("api", client, _api_items(), OTHER_REQUESTS),
        ("api_admin", admin_client, _api_items(), OTHER_REQUESTS),
    ):
        for label, url in _selected(key, items):
            url = url.format(**values)
            results[key].append({"label": label, "url": url, "requests": requests, **_time(who, url, requests)})
    return results

