"""Themes reports: volume, sentiment, weekly trend, scores and touchpoints on hand-counted data."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from reporting import selectors
from tests.reporting import builders as b
from tests.reporting import builders_text as t
from tests.reporting.test_kpis import FRI, MON, TUE, scope
from tests.reporting.test_pages import csv_rows, page_tables
from tests.reporting.test_recovery import gold  # noqa: F401 (the fixture)

MARCH = "?date_from=2025-03-01&date_to=2025-03-31"


@pytest.fixture
def talk(personas):
    """North, March 2025: six responses, five with a comment.
    Delivery delays: r1 (Fri, Web, NPS 2, -0.6) and r2 (Mon, Store, NPS 9, +0.5).
    Rude staff: r2, r3 (Tue, Store, NPS 3, -0.2) and r4 (Tue, Store, NPS 1, no sentiment).
    r5 (NPS 10, +0.8) has a comment about no theme; r6 (NPS 7) has no comment.
    An open case opened by r3 has r2 attached. South talks about Price; February is out of range."""
    north, south = personas.north, personas.south
    delivery, staff, price = t.theme("Delivery delays"), t.theme("Rude staff"), t.theme("Price")
    t.tagged(north, at=FRI, nps=2, touchpoint="Web", sentiment=-0.6, themes=[delivery])
    r2 = t.tagged(north, at=MON, nps=9, touchpoint="Store", sentiment=0.5, themes=[delivery, staff])
    r3 = t.tagged(north, at=TUE, nps=3, touchpoint="Store", sentiment=-0.2, themes=[staff])
    t.tagged(north, at=TUE, nps=1, touchpoint="Store", sentiment=None, themes=[staff])
    t.tagged(north, at=TUE, nps=10, sentiment=0.8, comment="Lovely.")
    t.tagged(north, at=TUE, nps=7, comment="")
    case = b.case(north, created=TUE, resp=r3)
    b.attach(case, r2)
    t.tagged(south, at=MON, nps=4, sentiment=-0.5, themes=[price])
    t.tagged(north, at=dt.datetime(2025, 2, 20, tzinfo=dt.timezone.utc), nps=0, themes=[delivery])
    personas.delivery, personas.staff = delivery, staff
    return personas


def test_volume_share_and_sentiment(talk):
    table = selectors.themes_volume(scope(talk.north))
    assert [(r["theme"], r["responses"], r["share"], r["positive_pct"], r["negative_pct"], r["sentiment"],
             r["open_cases"]) for r in table.rows] == [
        ("Rude staff", 3, 60.0, 50.0, 50.0, 15.0, 1),  # 3 of 5 comments; sentiment (0.5 - 0.2) / 2
        ("Delivery delays", 2, 40.0, 50.0, 50.0, -5.0, 1),  # the open case has r2 attached
    ]


def test_volume_links_to_the_open_cases_about_the_theme(talk):
    link = selectors.themes_volume(scope(talk.north)).links[0]["open_cases"]
    if "theme" not in (selectors.inbox_filter_names() or {"theme"}):
        assert link == ""  # no theme filter in the inbox: no link rather than a wrong list
        return
    query = parse_qs(urlparse(link).query)
    assert query["view"] == ["team"] and query["theme"] == ["rude-staff"]
    assert query["created_after"] == ["2025-03-01"] and query["created_before"] == ["2025-03-31"]


def test_weekly_trend(talk):
    table = selectors.themes_weekly(scope(talk.north))
    assert [c.label for c in table.columns] == ["Theme", "2025-03-10", "2025-03-03", "Total"]  # newest first
    assert table.rows == [
        {"theme": "Rude staff", "w2025-03-03": 0, "w2025-03-10": 3, "total": 3},
        {"theme": "Delivery delays", "w2025-03-03": 1, "w2025-03-10": 1, "total": 2},
    ]


def test_scores_per_theme_beside_all_responses(talk):
    rows = {r["theme"]: r for r in selectors.themes_scores(scope(talk.north)).rows}
    assert list(rows) == ["Rude staff", "Delivery delays", "All responses"]
    assert (rows["Rude staff"]["nps_n"], rows["Rude staff"]["nps"]) == (3, -33.3)  # 9, 3, 1
    assert (rows["Delivery delays"]["nps"], rows["Delivery delays"]["sentiment"]) == (0.0, -5.0)  # 2, 9
    # 2, 9, 3, 1, 10, 7: two promoters, three detractors of six; sentiment (-0.6+0.5-0.2+0.8) / 4
    assert (rows["All responses"]["responses"], rows["All responses"]["nps"]) == (6, -16.7)
    assert rows["All responses"]["sentiment"] == 12.5


def test_themes_by_touchpoint(talk):
    table = selectors.themes_by_touchpoint(scope(talk.north))
    assert [c.label for c in table.columns] == ["Theme", "Store", "Web", "Total"]
    assert table.rows == [
        {"theme": "Rude staff", "tp0": 3, "tp1": 0, "total": 3},
        {"theme": "Delivery delays", "tp0": 1, "tp1": 1, "total": 2},
    ]


def test_segment_filters_apply_to_themes(talk):
    rows = selectors.themes_volume(scope(talk.north, touchpoint="Web")).rows
    assert [(r["theme"], r["responses"]) for r in rows] == [("Delivery delays", 1)]


def test_retired_themes_keep_their_history(talk):
    talk.staff.status = "retired"
    talk.staff.save()
    names = [r["theme"] for r in selectors.themes_volume(scope(talk.north)).rows]
    assert names == ["Rude staff (retired)", "Delivery delays"]


def test_no_themes_gives_empty_tables(personas):
    filters = scope(personas.north)
    assert selectors.themes_volume(filters).rows == []
    assert selectors.themes_scores(filters).rows == []  # no comparison row without a theme


def test_manager_sees_only_the_themes_of_his_teams(client, talk):
    client.force_login(talk.mia)  # manager of North only
    tables = page_tables(client, "reporting:themes", MARCH)
    assert [r[0] for r in tables["themes-volume"]] == ["Rude staff", "Delivery delays"]
    client.force_login(talk.adam)
    tables = page_tables(client, "reporting:themes", MARCH)
    assert "Price" in [r[0] for r in tables["themes-volume"]]


def test_page_renders_charts_and_csv_matches(client, talk):
    client.force_login(talk.mia)
    html = client.get(reverse("reporting:themes") + MARCH).content.decode()
    assert 'class="bar-chart"' in html and 'class="line-chart"' in html and "report heat" in html
    tables = page_tables(client, "reporting:themes", MARCH)
    assert set(tables) == {"themes-volume", "themes-weekly", "themes-scores", "themes-by-touchpoint"}
    for name, rows in tables.items():
        assert csv_rows(client, name, MARCH)[1:] == rows, name


def test_api_serves_the_theme_reports(api_client, talk):
    api_client.force_authenticate(talk.mia)
    body = api_client.get("/api/v1/reports/themes-volume/", {"date_from": "2025-03-01", "date_to": "2025-03-31"}).json()
    assert [(r["theme"], r["responses"], r["sentiment"]) for r in body["rows"]] == [
        ("Rude staff", 3, 15.0), ("Delivery delays", 2, -5.0)]
    assert body["filters"]["teams_in_scope"] == [talk.north.pk]


def test_agents_do_not_reach_the_themes_page(client, talk):
    client.force_login(talk.alice)
    assert client.get(reverse("reporting:themes")).status_code == 404


def test_open_cases_per_theme_equal_a_direct_count(talk):
    """The open cases per theme, read from the tags by response id alone, are what counting each
    open case of the period's themes (its opening response's and its attached ones') gives: closed
    cases, other teams' cases and cases created outside the period left out, a case tagged twice
    with one theme counted once."""
    from cases.models import Case, CaseResponse
    from reporting.selectors.themes import _open_cases_by_theme
    from surveys.models import ResponseTheme

    north, south = talk.north, talk.south
    price = t.theme("Price")  # another Price than the fixture's South one: ids differ
    r7 = t.tagged(north, at=MON, nps=2, themes=[talk.delivery, price])
    r8 = t.tagged(north, at=MON, nps=3, themes=[talk.staff])
    r9 = t.tagged(south, at=MON, nps=3, themes=[talk.delivery])
    both = b.case(north, created=MON, resp=r7)
    b.attach(both, r8)
    b.attach(both, r9)  # attached from another team: its themes count for the case
    b.case(north, created=MON, resp=r8)
    b.case(north, created=MON, resp=r7, closed=TUE, root_cause=b.cause("Courier"))  # closed: left out
    b.case(south, created=MON, resp=r9)  # another team's
    b.case(north, created=dt.datetime(2025, 2, 20, tzinfo=dt.timezone.utc), resp=r8)  # before the period
    filters = scope(north)

    direct: dict[int, set[int]] = {}
    for case in filters.cases(Case.objects.open(), date_field="created_at"):
        responses = {case.response_id, *CaseResponse.objects.filter(case=case).values_list("response_id", flat=True)}
        for theme_id in ResponseTheme.objects.filter(response_id__in=responses).values_list("theme_id", flat=True):
            direct.setdefault(theme_id, set()).add(case.pk)
    assert _open_cases_by_theme(filters) == {k: len(v) for k, v in direct.items()}
    assert {k: len(v) for k, v in direct.items()} == {talk.staff.pk: 3, talk.delivery.pk: 2, price.pk: 1}


def test_open_cases_per_theme_read_only_what_the_open_cases_index_holds(talk, gold):  # noqa: F811
    """The open cases' side of that statement (the viewer's teams, the period, a segment) reads no
    column cases_case_open_team_created does not hold (cases 0035), so at 1,000,000 cases it is an
    index-only scan and not a read of each open case's row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reporting.selectors.themes import _open_cases_by_theme
    from tests.reporting.plans import columns_read, index_columns

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL plans")
    with CaptureQueriesContext(connection) as captured:
        _open_cases_by_theme(scope(talk.north))
        _open_cases_by_theme(scope(talk.north, segment=gold))
    statements = [q["sql"] for q in captured.captured_queries if "open_cases" in q["sql"]]
    assert len(statements) == 2, statements
    read = columns_read(statements, ("cases_case",))["cases_case"]
    assert {"id", "response_id", "team_id", "created_at", "segment_bits"} <= read, read
    # status: the index's condition (open cases), which a tiny table's sequential scan tests itself
    assert read <= index_columns("cases_case_open_team_created") | {"status"}, read
