"""NPS, CSAT and CES arithmetic, per period and per segment."""

from __future__ import annotations

import datetime as dt

from reporting import selectors
from tests.reporting import builders as b
from tests.reporting.test_kpis import MON, TUE, scope


def test_nps_is_promoters_minus_detractors_with_counts(personas):
    for score in (10, 9, 8, 3, 0):
        b.response(personas.north, at=MON, nps=score)
    row = selectors.scores_trend(scope(personas.north), "week").rows[0]
    assert row["period"] == "2025-03-10"
    assert (row["nps_n"], row["promoters"], row["passives"], row["detractors"]) == (5, 2, 1, 2)
    assert (row["promoters_pct"], row["detractors_pct"], row["nps"]) == (40.0, 40.0, 0.0)


def test_all_passives_score_zero_not_missing(personas):
    for score in (7, 8, 7):
        b.response(personas.north, at=MON, nps=score)
    row = selectors.scores_trend(scope(personas.north), "month").rows[0]
    assert row["period"] == "2025-03"
    assert (row["nps_n"], row["passives"], row["nps"]) == (3, 3, 0.0)
    assert row["csat_n"] == 0 and row["csat_top2_pct"] is None
    assert row["ces_avg"] is None


def test_csat_top_two_box_respects_each_scale(personas):
    for value in (5, 4, 3, 1):
        b.response(personas.north, at=MON, csat=value)
    b.response(personas.north, at=MON, csat=9, csat_scale=(1, 10))  # top-2 of a 10-point scale
    b.response(personas.north, at=MON, csat=5, csat_scale=(1, 10))  # not top-2 there
    row = selectors.scores_trend(scope(personas.north), "week").rows[0]
    assert row["csat_n"] == 6
    assert row["csat_top2_pct"] == 50.0  # 5, 4 and 9


def test_ces_average_and_high_effort_respect_direction_and_scale(personas):
    b.response(personas.north, at=MON, ces=7)  # 1-7, high is easy (default): easiest -> 7
    b.response(personas.north, at=MON, ces=2, ces_high_is_easy=True)  # 1/6 of the way -> 2; high effort
    b.response(personas.north, at=MON, ces=5, ces_scale=(1, 5), ces_high_is_easy=False)  # most effort -> 1; high
    b.response(personas.north, at=MON, ces=2, ces_scale=(1, 5), ces_high_is_easy=False)  # ease 3/4 -> 5.5
    row = selectors.scores_trend(scope(personas.north), "week").rows[0]
    assert row["ces_n"] == 4
    assert row["ces_avg"] == 3.9  # (7 + 2 + 1 + 5.5) / 4 = 3.875
    assert row["ces_high_effort_pct"] == 50.0


def test_scores_by_segment_show_n(personas):
    web, store = "Web", "Store"
    b.response(personas.north, at=MON, nps=10, touchpoint=web)
    b.response(personas.north, at=TUE, nps=0, touchpoint=web)
    b.response(personas.north, at=TUE, nps=9, touchpoint=store)
    rows = {r["group"]: r for r in selectors.scores_by(scope(personas.north), "touchpoint").rows}
    assert (rows[web]["nps_n"], rows[web]["nps"]) == (2, 0.0)
    assert (rows[store]["nps_n"], rows[store]["nps"]) == (1, 100.0)
    teams = selectors.scores_by(scope(personas.north), "team").rows
    assert [(r["group"], r["responses"]) for r in teams] == [("North", 3)]
    surveys = selectors.scores_by(scope(personas.north), "survey").rows
    assert [(r["group"], r["responses"]) for r in surveys] == [("Relationship", 3)]


def test_weekly_periods_split_on_monday(personas):
    b.response(personas.north, at=MON - dt.timedelta(minutes=1), nps=10)  # Sunday night: previous week
    b.response(personas.north, at=MON, nps=0)
    rows = selectors.scores_trend(scope(personas.north), "week").rows
    assert [(r["period"], r["nps"]) for r in rows] == [("2025-03-10", -100.0), ("2025-03-03", 100.0)]  # newest first
