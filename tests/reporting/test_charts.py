"""The server-drawn charts: x labels that never overlap, lines in time order when the tables list
the newest period first, bars whose lengths are proportional to their values; and the tables:
newest weeks first, SLA met beside the counts."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from reporting import charts
from reporting.selectors import KPI_COLUMNS
from reporting.tables import Column, Table
from tests.factories import PASSWORD
from tests.reporting import builders as b

AXIS_LABEL = re.compile(r'<text class="axis" x="([\d.]+)" y="204" text-anchor="middle">([^<]+)</text>')


def weekly_table(n: int) -> Table:
    table = Table("t", "", [Column("period", "Week of"), Column("nps", "NPS", True)])
    start = dt.date(2026, 1, 5)
    for i in reversed(range(n)):  # newest first, as the scores table lists them
        table.add({"period": (start + dt.timedelta(weeks=i)).isoformat(), "nps": float(i * 3 - 20)})
    return table


@pytest.mark.parametrize("weeks", [2, 8, 13, 14, 27, 53])
def test_axis_labels_never_overlap_and_the_last_week_is_labelled(weeks):
    chart = charts.line(weekly_table(weeks), "period", "nps", -100, 100, newest_first=True)
    shown = [p for p in chart.points if p.show_label]
    assert shown[-1] is chart.points[-1]
    width = 10 * charts.AXIS_CHAR_PX  # "2026-01-05"
    gaps = [b.x - a.x for a, b in zip(shown, shown[1:], strict=False)]
    assert all(gap >= width + charts.AXIS_GAP_PX for gap in gaps), gaps
    # In time order, left to right, though the table lists the newest week first.
    assert [p.label for p in chart.points] == sorted(p.label for p in chart.points)
    assert [p.x for p in chart.points] == sorted(p.x for p in chart.points)


def test_thirteen_weeks_label_every_other_week():
    chart = charts.line(weekly_table(13), "period", "nps", -100, 100, newest_first=True)
    assert [p.label for p in chart.points if p.show_label] == [
        "2026-01-05", "2026-01-19", "2026-02-02", "2026-02-16", "2026-03-02", "2026-03-16", "2026-03-30"]


def test_equal_values_draw_equal_bars_and_lengths_are_proportional():
    table = Table("t", "", [Column("cause", "Cause"), Column("cases", "Cases", True),
                            Column("cumulative", "Cumulative %", True)])
    for cause, n, cumulative in [("A", 4, 40.0), ("B", 2, 60.0), ("C", 2, 80.0), ("D", 1, 90.0), ("E", 1, 100.0)]:
        table.add({"cause": cause, "cases": n, "cumulative": cumulative})
    bars = charts.bars(table, "cause", "cases", "cumulative", lambda n, text: f"{text} % cumulative")
    assert [(bar.label, bar.width) for bar in bars] == [("A", 100.0), ("B", 50.0), ("C", 50.0), ("D", 25.0),
                                                        ("E", 25.0)]


def test_the_bar_chart_shares_its_columns_between_rows():
    """Equal values drew unequal lengths when each row was its own grid (a longer note took width
    from its bar): the rows are a subgrid of one grid now."""
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "static" / "reporting" / "reporting.css").read_text()
    assert re.search(r"\.bar-chart li \{[^}]*grid-template-columns: subgrid", css)
    assert re.search(r"\.bar-chart ul \{[^}]*grid-template-columns:", css)


def test_the_nps_chart_on_the_page_has_legible_axis_labels(client, personas):
    now = timezone.now()
    for week in range(13):
        for score in (2, 9, 10):
            b.response(personas.north, at=now - dt.timedelta(weeks=week, hours=1), nps=score)
    client.login(username="mia", password=PASSWORD)
    page = client.get(reverse("reporting:scores")).content.decode()
    svg = re.search(r'<svg viewBox="0 0 640 220".*?</svg>', page, re.S).group(0)
    labels = [(float(x), text) for x, text in AXIS_LABEL.findall(svg)]
    assert 4 <= len(labels) <= 8
    assert all(b[0] - a[0] >= 10 * charts.AXIS_CHAR_PX + charts.AXIS_GAP_PX
               for a, b in zip(labels, labels[1:], strict=False))
    assert labels == sorted(labels), "oldest week on the left"
    # The table below lists the newest week first.
    table = re.search(r'data-report="scores-weekly".*?</table>', page, re.S).group(0)
    weeks = re.findall(r'<th scope="row">(\d{4}-\d{2}-\d{2})</th>', table)
    assert weeks == sorted(weeks, reverse=True) and len(weeks) >= 13


def test_weekly_tables_put_the_newest_week_first(client, personas):
    now = timezone.now()
    late = b.cause("Late")
    for days in (3, 20, 45):
        b.case(personas.north, created=now - dt.timedelta(days=days, hours=2),
               closed=now - dt.timedelta(days=days), root_cause=late)
    client.login(username="mia", password=PASSWORD)
    page = client.get(reverse("reporting:root_causes")).content.decode()
    table = re.search(r'data-report="root-causes-weekly".*?</thead>', page, re.S).group(0)
    weeks = re.findall(r'<th scope="col" class="num">(\d{4}-\d{2}-\d{2})</th>', table)
    assert len(weeks) == 3 and weeks == sorted(weeks, reverse=True)
    kpis = client.get(reverse("reporting:reports") + "?by=week").content.decode()
    rows = re.findall(r'<th scope="row">(\d{4}-\d{2}-\d{2})</th>',
                      re.search(r'data-report="kpis-by-week".*?</table>', kpis, re.S).group(0))
    assert rows == sorted(rows, reverse=True) and rows


def test_sla_met_sits_beside_the_counts():
    keys = [c.key for c in KPI_COLUMNS]
    assert keys[:4] == ["cases", "open", "first_contact_sla_pct", "resolution_sla_pct"]
