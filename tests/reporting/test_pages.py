"""Who reaches the manager pages, whose figures they see, and CSV = table = API."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from reporting.reports import REPORTS
from reporting.tables import cell_text

PAGES = ["reporting:dashboard", "reporting:reports", "reporting:root_causes", "reporting:scores", "reporting:recovery"]


class TableParser(HTMLParser):
    """Report tables on a page: {data-report name: [[cell text, ...], ...]} (body rows only)."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current = None
        self.in_body = False
        self.cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "data-report" in attrs:
            self.current = self.tables.setdefault(attrs["data-report"], [])
        elif tag == "tbody" and self.current is not None:
            self.in_body = True
        elif tag == "tr" and self.in_body:
            self.current.append([])
        elif tag in ("td", "th") and self.in_body:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            text = "".join(self.cell).strip()
            self.current[-1].append("" if text == "–" else text)
            self.cell = None
        elif tag == "tbody":
            self.in_body = False
        elif tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def page_tables(client, url_name, query=""):
    response = client.get(reverse(url_name) + query)
    assert response.status_code == 200
    parser = TableParser()
    parser.feed(response.content.decode())
    return parser.tables


def csv_rows(client, name, query=""):
    response = client.get(reverse("reporting:export", args=[name]) + query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("url_name", PAGES)
def test_agents_do_not_reach_manager_pages(client, personas, url_name):
    client.force_login(personas.alice)
    assert client.get(reverse(url_name)).status_code == 404


def test_agents_get_404_from_export_and_api(client, api_client, personas):
    client.force_login(personas.alice)
    assert client.get(reverse("reporting:export", args=["root-causes-pareto"])).status_code == 404
    api_client.force_authenticate(personas.alice)
    assert api_client.get("/api/v1/reports/overdue-by-team/").status_code == 404
    assert api_client.get("/api/v1/reports/").status_code == 404


def test_anonymous_is_sent_to_log_in(client, api_client, personas):
    response = client.get(reverse("reporting:dashboard"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert api_client.get("/api/v1/reports/overdue-by-team/").status_code == 401


def test_home_sends_managers_to_the_overdue_dashboard(client, personas):
    client.force_login(personas.mia)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("reporting:dashboard")


def test_manager_sees_only_their_teams_figures(client, busy):
    client.force_login(busy.mia)  # manager of North only
    response = client.get(reverse("reporting:dashboard"))
    assert response.status_code == 200
    tables = page_tables(client, "reporting:dashboard")
    assert [row[0] for row in tables["overdue-by-team"]] == ["North"]
    assert tables["overdue-by-team"][0][1] == "2"  # South's 3 overdue cases are not counted
    assert "South" not in response.content.decode()
    headline = response.context["headline"]
    assert headline[0] == ("Overdue", 2, headline[0][2])


def test_manager_cannot_pick_another_team(client, api_client, busy):
    client.force_login(busy.mia)
    tables = page_tables(client, "reporting:dashboard", f"?team={busy.south.pk}")
    assert [row[0] for row in tables["overdue-by-team"]] == ["North"]  # refused, back to her teams
    api_client.force_authenticate(busy.mia)
    response = api_client.get(f"/api/v1/reports/overdue-by-team/?team={busy.south.pk}")
    assert response.status_code == 400
    assert "team" in response.json()


def test_admin_sees_every_team(client, busy):
    client.force_login(busy.adam)
    rows = page_tables(client, "reporting:dashboard")["overdue-by-team"]
    assert [(r[0], r[1]) for r in rows] == [("South", "3"), ("North", "2"), ("All teams", "5")]


def test_team_filter_narrows_every_panel(client, busy):
    client.force_login(busy.adam)
    tables = page_tables(client, "reporting:dashboard", f"?team={busy.south.pk}")
    assert [(r[0], r[1]) for r in tables["overdue-by-team"]] == [("South", "3")]
    assert [r[1] for r in tables["overdue-by-assignee"]] == ["3"]
    assert sum(int(r[1]) for r in tables["overdue-age"]) == 3


def test_dashboard_figures_link_to_the_inbox(client, busy):
    client.force_login(busy.mia)
    html = client.get(reverse("reporting:dashboard")).content.decode()
    assert f'href="/cases/?view=overdue&amp;team={busy.north.pk}"' in html
    assert "view=overdue&amp;unassigned=true" in html


@pytest.mark.parametrize(
    "url_name,query",
    [
        ("reporting:dashboard", ""),
        ("reporting:reports", ""),
        ("reporting:reports", "?by=week"),
        ("reporting:root_causes", ""),
        ("reporting:scores", "?period=month&by=team"),
        ("reporting:recovery", ""),
    ],
)
def test_csv_export_matches_the_table_shown(client, busy, url_name, query):
    client.force_login(busy.adam)
    tables = page_tables(client, url_name, query)
    assert tables, "the page shows report tables"
    filter_query = "?" + "&".join(p for p in query.lstrip("?").split("&") if p.split("=")[0] not in ("by", "period"))
    for name, rows in tables.items():
        exported = csv_rows(client, name, filter_query if filter_query != "?" else "")
        assert exported[1:] == rows, name


def test_api_returns_the_same_numbers_as_the_csv(client, api_client, busy):
    client.force_login(busy.mia)
    api_client.force_authenticate(busy.mia)
    index = api_client.get("/api/v1/reports/").json()
    assert {entry["name"] for entry in index} == set(REPORTS)
    for name in REPORTS:
        body = api_client.get(f"/api/v1/reports/{name}/").json()
        keys = [c["key"] for c in body["columns"]]
        as_text = [[cell_text(row[k]) if not isinstance(row[k], float) else f"{row[k]:.1f}" for k in keys]
                   for row in body["rows"]]
        exported = csv_rows(client, name)
        assert exported[0] == [c["label"] for c in body["columns"]], name
        assert exported[1:] == as_text, name
    assert body["filters"]["teams_in_scope"] == [busy.north.pk]


def test_the_pages_show_the_expected_figures(client, busy):
    client.force_login(busy.mia)
    pareto = page_tables(client, "reporting:root_causes")["root-causes-pareto"]
    assert pareto == [["T Delivery > Late", "2", "66.7", "66.7"], ["T Product > Defect", "1", "33.3", "100.0"]]
    recovery = page_tables(client, "reporting:recovery")["recovery-by-team"]
    # before 2, 3, 4 -> after 9, 6, 3: one of three detractors recovered.
    assert recovery == [["North", "3", "3.0", "6.0", "3.0", "3", "1", "33.3"]]


def test_api_schema_documents_the_reports(api_client, personas):
    api_client.force_authenticate(personas.adam)
    schema = api_client.get("/api/schema/?format=json").json()
    assert "/api/v1/reports/{name}/" in schema["paths"]
