"""Root-cause suggestions: how often the close form offered causes, how often one was taken, and
the held-out accuracy of the model in use."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from cases.models import RootCauseModel
from reporting import selectors
from tests.reporting import builders as b
from tests.reporting import builders_text as t
from tests.reporting.test_kpis import MON, TUE, scope
from tests.reporting.test_pages import csv_rows, page_tables

MARCH = "?date_from=2025-03-01&date_to=2025-03-31"


def closed_case(team, when, *, offered=True, taken=False):
    late, broken = b.cause("Late"), b.cause("Defect", "Product")
    case = b.case(team, created=when - dt.timedelta(hours=3), closed=when, root_cause=late)
    if offered:
        suggestions = [{"root_cause_id": late.pk if taken else broken.pk, "confidence": 0.6}]
        t.closure(case, at=when, suggestions=suggestions, taken=taken)
    else:
        t.closure(case, at=when)
    return case


def sample(personas):
    """North: 5 closures, 4 with suggestions, 3 of them taken. South: 2 closures, 1 offered, not taken."""
    for taken in (True, True, True, False):
        closed_case(personas.north, MON, taken=taken)
    closed_case(personas.north, TUE, offered=False)
    closed_case(personas.south, TUE, taken=False)
    closed_case(personas.south, TUE, offered=False)


def test_acceptance_rate_by_team(personas):
    sample(personas)
    rows = selectors.root_cause_suggestions(scope(personas.north, personas.south)).rows
    assert [(r["team"], r["closures"], r["offered"], r["offered_pct"], r["taken"], r["taken_pct"]) for r in rows] == [
        ("North", 5, 4, 80.0, 3, 75.0),
        ("South", 2, 1, 50.0, 0, 0.0),
        ("All teams", 7, 5, 71.4, 3, 60.0),
    ]


def test_every_closure_counts_once_even_after_a_reopen(personas):
    case = closed_case(personas.north, MON, taken=False)
    t.closure(case, at=TUE, suggestions=[{"root_cause_id": case.root_cause_id, "confidence": 0.7}], taken=True)
    row = selectors.root_cause_suggestions(scope(personas.north)).rows[0]
    assert (row["closures"], row["offered"], row["taken"], row["taken_pct"]) == (2, 2, 1, 50.0)


def test_the_model_in_use_is_the_newest(personas):
    assert selectors.root_cause_model_in_use() is None
    assert "No root-cause model" in selectors.root_cause_suggestions(scope(personas.north)).description
    RootCauseModel.objects.create(trained_on=40, classes=5, accuracy_top1=0.5, accuracy_top3=0.8, held_out=8,
                                  blob=b"old", created_at=dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc))
    RootCauseModel.objects.create(trained_on=120, classes=9, accuracy_top1=0.6123, accuracy_top3=0.9, held_out=24,
                                  blob=b"new", created_at=dt.datetime(2025, 3, 8, tzinfo=dt.timezone.utc))
    model = selectors.root_cause_model_in_use()
    assert (model["trained_on"], model["accuracy_top1"], model["accuracy_top3"], model["held_out"]) == (120, 61.2, 90.0, 24)
    assert "top-1 61.2 %, top-3 90.0 %" in selectors.root_cause_suggestions(scope(personas.north)).description


def test_manager_sees_his_teams_on_the_root_causes_page(client, personas):
    sample(personas)
    RootCauseModel.objects.create(trained_on=120, classes=9, accuracy_top1=0.61, accuracy_top3=0.9, held_out=24, blob=b"x")
    client.force_login(personas.mia)  # North only
    table = page_tables(client, "reporting:root_causes", MARCH)["root-cause-suggestions"]
    assert table == [["North", "5", "4", "80.0", "3", "75.0"]]
    assert csv_rows(client, "root-cause-suggestions", MARCH)[1:] == table
    html = client.get(reverse("reporting:root_causes") + MARCH).content.decode()
    assert "75.0 %" in html and "61.0 % / 90.0 %" in html


def test_api_serves_the_suggestion_report(api_client, personas):
    sample(personas)
    api_client.force_authenticate(personas.adam)
    body = api_client.get("/api/v1/reports/root-cause-suggestions/", {"date_from": "2025-03-01",
                                                                      "date_to": "2025-03-31"}).json()
    assert body["rows"][-1] == {"team": "All teams", "closures": 7, "offered": 5, "offered_pct": 71.4, "taken": 3,
                                "taken_pct": 60.0}
