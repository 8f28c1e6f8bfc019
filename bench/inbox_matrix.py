"""The inbox at 1,000,000 cases with one agent holding 5,000 open cases: part of bench.bench_inbox.

- `add_heavy_agent()`: one more agent in Team 01 who holds 5,000 open cases (moved from other teams,
  so the table keeps its size); idempotent, so a kept database (`--reuse`) gets it once.
- `measure_my_open(agent)`: "My open" of that agent in every sort (the view's own order and each of
  cases.ordering.SORTS), the whole page through Django's test Client, first page and page 2.
- `measure_matrix(agent)`: the list query alone (the page's one keyset query, built as the inbox
  builds it) for every view x sort, and for each filter the inbox offers x sort, pages 1 and 2.
- `explain(agent)`: EXPLAIN (ANALYZE, BUFFERS) of the list queries named in PLANS.

Runs in bench.bench_inbox's child process (DATABASE_URL points at the bench database)."""

from __future__ import annotations

import datetime
import statistics
import time

HEAVY_AGENT = "heavy01"
HEAVY_TEAM = "team-01"
HEAVY_OPEN = 5_000
PAGE_WARMUP = 3
PAGE_REQUESTS = 30
SQL_REPEATS = 15
LIST_TARGET_MS = 10  # the list query's p95 budget inside the page's 100 ms
VIEWS = ["mine", "unassigned", "team", "overdue", "due_soon", "recently_closed"]
VIEW_LABELS = {"mine": "My open", "unassigned": "Team unassigned", "team": "Team all", "overdue": "Overdue",
               "due_soon": "Due soon", "recently_closed": "Recently closed"}


def _sorts() -> list[str]:
    from cases.ordering import SORTS

    return ["", *SORTS]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def add_heavy_agent() -> str:
    """heavy01, a member of Team 01 holding HEAVY_OPEN open cases (taken from other teams' open
    cases, lowest ids first, so they spread over every due time, priority and value)."""
    from django.db import connection

    from accounts.models import Membership, Role, Team, User
    from cases.models import Case

    team = Team.objects.get(slug=HEAVY_TEAM)
    agent, _ = User.objects.get_or_create(
        username=HEAVY_AGENT,
        defaults={"first_name": "Heavy", "last_name": "Agent", "role": Role.AGENT,
                  "email": f"{HEAVY_AGENT}@example.com", "password": User.objects.first().password},
    )
    Membership.objects.get_or_create(user=agent, team=team)
    held = Case.objects.filter(assignee=agent).exclude(status=Case.Status.CLOSED).count()
    if held < HEAVY_OPEN:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE cases_case SET team_id = %s, assignee_id = %s WHERE id IN ("
                " SELECT id FROM cases_case WHERE status <> 'closed' AND team_id <> %s ORDER BY id LIMIT %s)",
                [team.pk, agent.pk, team.pk, HEAVY_OPEN - held],
            )
            cursor.execute("VACUUM ANALYZE cases_case")
    return agent.username


def _params(view: str, sort: str, extra: str = "") -> str:
    query = f"view={view}" + (f"&sort={sort}" if sort else "")
    return query + (f"&{extra}" if extra else "")


def measure_my_open(username: str) -> list[dict]:
    """The whole "My open" page of the agent with 5,000 open cases, in every sort: first page and
    the page its "next" link leads to."""
    import re

    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    rows = []
    for sort in _sorts():
        url = "/cases/?" + _params("mine", sort)
        first = client.get(url)
        assert first.status_code == 200, first.status_code
        match = re.search(r'rel="next" href="([^"]+)"', first.content.decode())
        urls = {"page 1": url, "page 2": match.group(1).replace("&amp;", "&") if match else None}
        for page, page_url in urls.items():
            if page_url is None:
                continue
            for _ in range(PAGE_WARMUP):
                client.get(page_url)
            timings, cpu = [], []
            for _ in range(PAGE_REQUESTS):
                started, started_cpu = time.perf_counter(), time.process_time()
                response = client.get(page_url)
                timings.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
                assert response.status_code == 200
            rows.append({"sort": sort or "(view's own)", "page": page, "p50": statistics.median(timings),
                         "p95": _percentile(timings, 95), "cpu_p50": statistics.median(cpu),
                         "rows": response.content.count(b'class="case-row')})
    return rows


def _filters(agent) -> list[tuple[str, str, str]]:
    """(label, view, extra query) for each filter of the inbox's filter panel that applies to open
    cases here (no themes or root causes in the generated data)."""
    from accounts.models import Team

    team = Team.objects.get(slug=HEAVY_TEAM)
    month_ago = (datetime.date.today() - datetime.timedelta(days=30)).isoformat()
    return [
        ("Team all + priority urgent", "team", "priority=urgent"),
        ("Team all + status overdue", "team", "status=overdue"),
        ("Team all + status new", "team", "status=new"),
        ("Team all + team (one)", "team", f"team={team.pk}"),
        ("My open + team (assigned to me + one team)", "mine", f"team={team.pk}"),
        ("Team all + assignee (me)", "team", f"assignee={agent.pk}"),
        ("Team all + unassigned", "team", "unassigned=true"),
        ("Team all + touchpoint", "team", "touchpoint=Checkout"),
        ("Team all + location", "team", "location=Leeds"),
        ("Team all + survey", "team", "survey=" + str(_first_survey())),
        ("Team all + opened in the last 30 days", "team", f"created_after={month_ago}"),
        ("Team all + due within 24 h", "team", "due_within=24"),
        ("Team all + sentiment negative", "team", "sentiment=negative"),
        ("Team all + search (a customer's name)", "team", "q=Customer 1234"),
    ]


def _first_survey() -> int:
    from surveys.models import Survey

    return Survey.objects.order_by("pk").values_list("pk", flat=True).first()


def _list_queryset(agent, query: str):
    from django.http import QueryDict

    from cases.filtersets import inbox_filterset
    from cases.views.inbox import row_queryset

    filterset = inbox_filterset(agent, QueryDict(query))
    assert filterset.is_valid(), filterset.errors
    return row_queryset(filterset)


def _time_list(agent, query: str) -> dict:
    """SQL time of the list query, page 1 and page 2 (after page 1's last row), SQL_REPEATS each."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases import keyset

    figures = {}
    cursor = None
    for page in ("page 1", "page 2"):
        if page == "page 2" and cursor is None:
            figures[page] = None  # one page only
            continue
        times = []
        for _ in range(SQL_REPEATS):
            queryset = _list_queryset(agent, query)
            with CaptureQueriesContext(connection) as queries:
                result = keyset.paginate(queryset, after=cursor, size=50)
            times.append(sum(float(q["time"]) * 1000 for q in queries.captured_queries))
        figures[page] = {"p50": statistics.median(times), "p95": _percentile(times, 95), "rows": len(result.rows)}
        cursor = result.next_cursor if page == "page 1" else cursor
    return figures


def measure_matrix(username: str) -> dict:
    from accounts.models import User

    agent = User.objects.get(username=username)
    views = {view: {sort: _time_list(agent, _params(view, sort)) for sort in _sorts()} for view in VIEWS}
    filters = {label: {sort: _time_list(agent, _params(view, sort, extra)) for sort in _sorts()}
               for label, view, extra in _filters(agent)}
    return {"views": views, "filters": filters}


PLANS = [
    ("My open (agent with 5,000 open cases), the view's own order, page 1", "view=mine", 1),
    ("My open (agent with 5,000 open cases), newest first, page 1", "view=mine&sort=newest", 1),
    ("My open (agent with 5,000 open cases), value at risk, page 2", "view=mine&sort=value", 2),
    ("Team unassigned, the view's own order, page 2", "view=unassigned", 2),
    ("Overdue, the view's own order, page 2", "view=overdue", 2),
    ("My open + team (assigned to me + one team), page 1", "view=mine&team={team}", 1),
]


def explain(username: str) -> list[dict]:
    """EXPLAIN (ANALYZE, BUFFERS) of each list query in PLANS, as the page runs it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Team, User
    from cases import keyset

    agent = User.objects.get(username=username)
    team = Team.objects.get(slug=HEAVY_TEAM)
    plans = []
    for label, query, page in PLANS:
        query = query.format(team=team.pk)
        cursor = keyset.paginate(_list_queryset(agent, query), size=50).next_cursor if page == 2 else None
        with CaptureQueriesContext(connection) as queries:
            keyset.paginate(_list_queryset(agent, query), after=cursor, size=50)
        sql = queries.captured_queries[-1]["sql"]
        with connection.cursor() as db:
            db.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
            plan = "\n".join(row[0] for row in db.fetchall())
        plans.append({"label": label, "query": query, "page": page, "plan": plan})
    return plans


def _cell(figures: dict | None) -> str:
    if figures is None:
        return "–"
    return f"{figures['p95']:.1f}"


def report_sections(figures: dict) -> list[str]:
    """Markdown: the "My open" page table, the list-query matrix and the plans."""
    sorts = _sorts()
    heads = ["view's own" if not s else s for s in sorts]
    lines = [
        "",
        f"### My open, agent with {HEAVY_OPEN:,} open cases, every sort",
        "",
        (f"The agent ({HEAVY_AGENT}, Team 01) holds {HEAVY_OPEN:,} open cases. The whole page in-process as above, "
         f"{PAGE_REQUESTS} requests after {PAGE_WARMUP} warm-ups; page 2 is the page the \"next\" link leads to:"),
        "",
        "| sort | page | p50 | p95 | Django CPU p50 | rows |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in figures["my_open"]:
        lines.append(f"| {row['sort']} | {row['page']} | {row['p50']:.1f} ms | {row['p95']:.1f} ms | "
                     f"{row['cpu_p50']:.1f} ms | {row['rows']} |")
    matrix = figures["matrix"]
    worst = max(
        (cell[page]["p95"] for table in (matrix["views"], matrix["filters"]) for by_sort in table.values()
         for cell in by_sort.values() for page in ("page 1", "page 2") if cell[page] is not None),
        default=0.0,
    )
    lines += [
        "",
        "### The list query for every view, filter and sort",
        "",
        (f"SQL time of the page's one list query (built as the inbox builds it; keyset page of 50), p95 of "
         f"{SQL_REPEATS} runs in ms, page 1 / page 2, for the agent above. Worst cell: {worst:.1f} ms."),
        "",
        "| view / filter | " + " | ".join(heads) + " |",
        "|---|" + "---:|" * len(heads),
    ]
    for table, labels in ((matrix["views"], VIEW_LABELS), (matrix["filters"], None)):
        for key, by_sort in table.items():
            label = labels[key] if labels else key
            cells = [f"{_cell(by_sort[s]['page 1'])} / {_cell(by_sort[s]['page 2'])}" for s in sorts]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "### Query plans (EXPLAIN (ANALYZE, BUFFERS), this run)", ""]
    for plan in figures["plans"]:
        lines += [f"**{plan['label']}** (`{plan['query']}`, page {plan['page']}):", "",
                  "```text", plan["plan"], "```", ""]
    return lines
