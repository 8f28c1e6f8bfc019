"""Root-cause Pareto, weekly trend, touchpoint heat map, scores and prevention suggestions."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlparse

from reporting import selectors
from tests.reporting import builders as b
from tests.reporting.test_kpis import FRI, MON, TUE, scope


def closed(team, cause, when, touchpoint="Store", prevention="", nps=2):
    resp = b.response(team, at=when - dt.timedelta(hours=5), nps=nps, touchpoint=touchpoint)
    return b.case(team, created=when - dt.timedelta(hours=4), resp=resp, closed=when, root_cause=cause,
                  prevention=prevention)


def test_pareto_counts_and_cumulative_share(personas):
    late, broken, rude = b.cause("Late"), b.cause("Defect", "Product"), b.cause("Attitude", "Staff")
    for _ in range(5):
        closed(personas.north, late, MON)
    for _ in range(3):
        closed(personas.north, broken, TUE)
    closed(personas.north, rude, TUE)
    closed(personas.north, rude, TUE)
    b.case(personas.north, created=MON)  # still open: not in the Pareto
    closed(personas.south, rude, TUE)  # another team: not in North's figures
    table = selectors.root_cause_pareto(scope(personas.north))
    assert [(r["root_cause"], r["cases"], r["share"], r["cumulative"]) for r in table.rows] == [
        ("T Delivery > Late", 5, 50.0, 50.0),
        ("T Product > Defect", 3, 30.0, 80.0),
        ("T Staff > Attitude", 2, 20.0, 100.0),
    ]
    link = urlparse(table.links[0]["cases"])
    query = parse_qs(link.query)
    assert link.path == "/cases/"
    assert query["root_cause"] == [str(late.pk)]
    assert query["closed_after"] == ["2025-03-01"] and query["closed_before"] == ["2025-03-31"]


def test_weekly_trend_and_touchpoint_heat_map(personas):
    late, broken = b.cause("Late"), b.cause("Defect", "Product")
    closed(personas.north, late, FRI, touchpoint="Web")
    closed(personas.north, late, MON, touchpoint="Web")
    closed(personas.north, late, TUE, touchpoint="Store")
    closed(personas.north, broken, TUE, touchpoint="Store")
    weekly = selectors.root_cause_weekly(scope(personas.north))
    assert [c.label for c in weekly.columns] == ["Root cause", "2025-03-10", "2025-03-03", "Total"]  # newest first
    assert weekly.rows[0] == {"root_cause": "T Delivery > Late", "w2025-03-03": 1, "w2025-03-10": 2, "total": 3}
    week_link = parse_qs(urlparse(weekly.links[0]["w2025-03-10"]).query)
    assert week_link["closed_after"] == ["2025-03-10"] and week_link["closed_before"] == ["2025-03-16"]
    heat = selectors.root_cause_by_touchpoint(scope(personas.north))
    labels = [c.label for c in heat.columns]
    assert labels == ["Root cause", "Store", "Web", "Total"]
    rows = {r["root_cause"]: r for r in heat.rows}
    assert (rows["T Delivery > Late"]["tp0"], rows["T Delivery > Late"]["tp1"]) == (1, 2)
    assert (rows["T Product > Defect"]["tp0"], rows["T Product > Defect"]["tp1"]) == (1, 0)
    assert parse_qs(urlparse(heat.links[0]["tp1"]).query)["touchpoint"] == ["Web"]


def test_average_score_by_root_cause(personas):
    late = b.cause("Late")
    closed(personas.north, late, MON, nps=2)
    closed(personas.north, late, MON, nps=5)
    row = selectors.root_cause_scores(scope(personas.north)).rows[0]
    assert (row["cases"], row["nps_n"], row["avg_nps"]) == (2, 2, 3.5)


def test_prevention_suggestions_newest_first_per_cause(personas):
    late = b.cause("Late")
    closed(personas.north, late, FRI, prevention="Text customers when the van is late")
    closed(personas.north, late, TUE, prevention="Add a second van on Tuesdays")
    closed(personas.north, late, MON)  # no suggestion
    table = selectors.root_cause_prevention(scope(personas.north))
    assert [r["suggestion"] for r in table.rows] == ["Add a second van on Tuesdays", "Text customers when the van is late"]
    assert table.links[0]["reference"].startswith("/cases/CL-")
