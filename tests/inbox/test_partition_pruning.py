"""Each case of an inbox page, the case page and the API are joined to their opening response on
its id and its answered_at (Case.response: core.partition_fk, kept by cases.response_keys), so on
PostgreSQL, where responses are partitioned by month, a page reads only the months of its cases'
responses (docs/deployment.md, "What a join on id alone costs"; figures in
docs/benchmarks_partitions.md). The pages show the same responses as before."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import partitions
from tests.inbox.helpers import make_case

R = "surveys_surveyresponse"
JAN, FEB, MAR = (datetime(2025, month, 12, 10, 0, tzinfo=UTC) for month in (1, 2, 3))


@pytest.fixture
def three_months(personas):
    """North's cases answered in January and February 2025, South's in March: three partitions."""
    with connection.cursor() as cursor:
        for month in (1, 2, 3):
            partitions.create_partition(cursor, R, "answered_at", date(2025, month, 1))
    north = [make_case(personas.north, response_extra={"answered_at": at, "touchpoint": f"Store {at:%b}"})
             for at in (JAN, FEB, JAN)]
    south = [make_case(personas.south, response_extra={"answered_at": MAR, "touchpoint": "Store Mar"})]
    return north, south


def inbox_list_sql(client, user) -> str:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("cases:inbox"), {"view": "team"})
    assert page.status_code == 200
    (sql,) = [q["sql"] for q in queries.captured_queries if f'JOIN "{R}"' in q["sql"] and "LIMIT" in q["sql"]]
    return sql


def explain(sql: str, analyze: bool) -> str:
    with connection.cursor() as cursor:
        # Four cases: PostgreSQL would rightly hash-join them to every month read whole. A page at
        # size (25 of millions, docs/benchmarks_partitions.md) is a nested loop of index probes,
        # the plan priced out of the others here; the probes are what prune.
        cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute("SET LOCAL enable_mergejoin = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        options = "ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF" if analyze else "COSTS OFF"
        cursor.execute(f"EXPLAIN ({options}) {sql}")
        return "\n".join(row for (row,) in cursor.fetchall())


JOIN_ON_TIME = (f' AND (("{R}"."answered_at" >= ("cases_case"."response_answered_at") '
                f'AND "{R}"."answered_at" <= ("cases_case"."response_answered_at")))')


def read_partitions(plan: str) -> list[str]:
    """The responses' partitions the plan scanned (not those PostgreSQL pruned: "never executed")."""
    return sorted(name for name, rest in re.findall(rf" on ({R}_\w+) \w+ \((.*)\)$", plan, re.MULTILINE)
                  if "never executed" not in rest)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's partitions")
def test_the_inbox_page_reads_only_the_months_of_its_cases_responses(client, personas, three_months):
    sql = inbox_list_sql(client, personas.alice)
    assert JOIN_ON_TIME in sql
    # North's page: January and February read, March (South's) and every other month pruned.
    assert read_partitions(explain(sql, analyze=True)) == [f"{R}_p202501", f"{R}_p202502"]
    # Joined on the id alone (before cases 0028), the same page probed every month's partition.
    by_id = read_partitions(explain(sql.replace(JOIN_ON_TIME, ""), analyze=True))
    assert by_id == sorted(partitions_of_responses()) and f"{R}_p202503" in by_id


def partitions_of_responses() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = %s::regclass", [R])
        return [name for (name,) in cursor.fetchall()]


def test_the_inbox_shows_each_cases_own_response(client, personas, three_months):
    north, south = three_months
    client.force_login(personas.alice)
    page = client.get(reverse("cases:inbox"), {"view": "team", "columns": "touchpoint"}).content.decode()
    for case in north:
        row = page[page.index(case.reference):]
        row = row[:row.index("</tr>")]
        assert case.response.touchpoint in row and "The queue was far too long." in row
    assert south[0].reference not in page


def test_the_case_page_shows_its_response(client, personas, three_months):
    north, _south = three_months
    client.force_login(personas.alice)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("cases:detail", args=[north[1].reference])).content.decode()
    assert "<dd>Store Feb</dd>" in page and 'datetime="2025-02-12T10:00:00+00:00"' in page
    (case_query,) = [q["sql"] for q in queries.captured_queries
                     if q["sql"].startswith('SELECT "cases_case"."id"') and f'JOIN "{R}"' in q["sql"]]
    assert JOIN_ON_TIME in case_query


def test_the_api_lists_and_shows_each_cases_own_response(api_client, personas, three_months):
    north, _south = three_months
    api_client.force_authenticate(personas.alice)
    listed = {row["reference"]: row["response"] for row in api_client.get("/api/v1/cases/").json()["results"]}
    assert {ref: (r["id"], r["touchpoint"]) for ref, r in listed.items()} == {
        case.reference: (case.response_id, case.response.touchpoint) for case in north}
    detail = api_client.get(f"/api/v1/cases/{north[1].pk}/").json()["response"]
    assert (detail["id"], detail["touchpoint"], detail["answered_at"]) == (
        north[1].response_id, "Store Feb", "2025-02-12T10:00:00Z")
