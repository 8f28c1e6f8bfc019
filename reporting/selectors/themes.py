"""The themes page: what customers' comments are about (surveys.Theme tags), how often, how they
feel about it, the scores given with them and the open cases about each theme.

The tag counts (volume, sentiment, weekly, by touchpoint, scores by theme) are read from the daily
theme rollup (reporting.ThemeRollup, kept by database triggers: see reporting.theme_rollup) whenever
the filters are ones it is keyed by (teams, survey, touchpoint, whole local days): one query,
summed by week, theme and touchpoint, serves the page's four tables. Every team's tags narrowed to
a segment (and to a touchpoint, over whole local days) are read from the theme totals
(reporting.ThemeTotal, keyed by the segment bits, not by team nor survey) the same way. A filter on
what neither keys (location, customer tier, a segment for a viewer's teams) computes the same sums
from the tags joined to their responses, in one query for the four tables too.
The share of comments and the "All responses" row of the scores table read the daily score rollup
(surveys.ScoreRollup: its comment and sentiment counts) under the same condition, or narrowed to a
segment the segment rollup (reporting.SegmentRollup); the open cases per theme read the cases."""

from __future__ import annotations

from functools import lru_cache

from django.db import connections, router
from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import TruncWeek
from django.utils.translation import gettext_lazy as _

from cases.models import Case, CaseResponse
from reporting.filters import ReportFilters
from reporting.models import ThemeRollup, ThemeTotal
from reporting.selectors.common import (
    CELLS_WORK_MEM,
    crosstab_by_touchpoint,
    crosstab_by_week,
    date_params,
    inbox_filter_names,
    inbox_url,
    rollup_rows,
    segment_totals,
    statement_memory,
)
from reporting.selectors.scores import segment_rollup
from reporting.selectors.scoring import SCORE_COLUMNS, ces_ease01, half_up, score_aggregates, score_figures
from reporting.theme_rollup import COUNTS
from reporting.tables import Column, Table, pct
from surveys.models import FeedbackKind, ResponseTheme, ScoreRollup, Theme
from surveys.vocabulary import Sentiment, sentiment_q

def _tag_cells(filters: ReportFilters) -> tuple[dict, ...]:
    """The rollup's sums (COUNTS) by week, theme and touchpoint computed from the tags joined to their
    responses, for filters the rollup is not keyed by (location, tier, segment): the same cells, so
    the four tables read one statement either way (they read one each before: 14.7 s for the page
    filtered to a segment at 10M responses)."""
    scores = score_aggregates("response__")
    del scores["ces_ease"]
    sentiment = "response__sentiment"
    found = (
        filters.theme_tags().order_by().annotate(week=TruncWeek("answered_at"))
        .values("week", "theme_id", "response__touchpoint")
        .annotate(
            tags=Count("pk"),
            unsolicited=Count("pk", filter=~Q(response__feedback_kind=FeedbackKind.SURVEY)),
            rated=Count(sentiment),
            # surveys.vocabulary's bands, as the inbox filter and the alert rules read them
            positive=Count(sentiment, filter=sentiment_q(Sentiment.POSITIVE, sentiment)),
            negative=Count(sentiment, filter=sentiment_q(Sentiment.NEGATIVE, sentiment)),
            sentiment_sum=Sum(sentiment),
            ces_ease_n=Count(ces_ease01("response__")),
            ces_ease_sum=Sum(ces_ease01("response__")),
            **scores,
        )
    )
    return tuple({"week": r["week"], "theme_id": r["theme_id"], "touchpoint": r["response__touchpoint"],
                  **{c: r[c] or 0 for c in COUNTS}} for r in found)


def rollup_cells(rows):
    """The theme rollup's `rows` summed by week, theme and touchpoint (sum_<count> for each of
    COUNTS), leaving out the cells whose tags were all removed."""
    return (rows.annotate(week=TruncWeek("day")).values("week", "theme_id", "touchpoint")
            .annotate(**{f"sum_{c}": Sum(c) for c in COUNTS}).filter(sum_tags__gt=0))


@lru_cache(maxsize=1)
def _theme_cells(filters: ReportFilters) -> tuple[dict, ...]:
    """The theme rollup's sums by week, theme and touchpoint, or the same sums from the tags when the
    filters need them (common.rollup_rows: _tag_cells). One query for the page's four tables: the last
    result is kept, keyed by the filters, whose `now` (the request's moment) makes each request's key its own."""
    rows = rollup_rows(filters, ThemeRollup.objects)
    if rows is None:
        rows = segment_totals(filters, ThemeTotal.objects)
    if rows is None:
        return _tag_cells(filters)
    cells = rollup_cells(rows)
    # Grouped in a hash table, not sorted: with the statistics on the grouping keys (reporting
    # 0018) PostgreSQL knows the cells are a few thousand, and with this memory it keeps them
    # without spilling (an admin's 90 days: 282,000 rollup rows into 3,120 cells, 240 -> 135 ms).
    with statement_memory(router.db_for_read(ThemeRollup), CELLS_WORK_MEM):
        return tuple(
            {"week": r["week"], "theme_id": r["theme_id"], "touchpoint": r["touchpoint"],
             **{c: r[f"sum_{c}"] for c in COUNTS}}
            for r in cells
        )


def _rolled(cells, by: tuple[str, ...]) -> list[dict]:
    """The cells' counts summed per value of the `by` keys."""
    sums: dict[tuple, dict] = {}
    for cell in cells:
        key = tuple(cell[k] for k in by)
        row = sums.get(key)
        if row is None:
            sums[key] = {**{k: cell[k] for k in by}, **{c: cell[c] for c in COUNTS}}
        else:
            for c in COUNTS:
                row[c] += cell[c]
    return list(sums.values())


def _rolled_by_theme(cells) -> list[dict]:
    """Per theme, the keys the direct aggregates give (score_aggregates', sentiment an average)."""
    rows = []
    for r in _rolled(cells, ("theme_id",)):
        rows.append({**r, "responses": r["tags"], "sentiment": r["sentiment_sum"] / r["rated"] if r["rated"] else None,
                     "ces_ease": r["ces_ease_sum"] / r["ces_ease_n"] if r["ces_ease_n"] else None})
    return rows


EVERY_SUMS = ("responses", "commented", "sentiment_n", "sentiment_sum", "nps_n", "promoters", "passives",
              "detractors", "csat_n", "csat_top2", "ces_n", "ces_ease_n", "ces_ease_sum", "ces_high_effort")


@lru_cache(maxsize=1)
def _every_response(filters: ReportFilters) -> dict:
    """Every response in scope: how many, with a comment (the share's denominator), and their
    scores and average sentiment (the "All responses" row). From the daily score rollup
    (surveys.ScoreRollup) when it answers the filters, narrowed to a segment from the segment
    rollup (reporting.SegmentRollup, scores.segment_rollup), else from the responses; kept like
    _theme_cells."""
    rollup = rollup_rows(filters, ScoreRollup.objects) if filters.segment is None else segment_rollup(filters)
    if rollup is None:
        return filters.responses().order_by().aggregate(
            responses=Count("*"), commented=Count("pk", filter=~Q(comment="")), sentiment=Avg("sentiment"),
            **score_aggregates())
    sums = rollup.aggregate(**{c: Sum(c) for c in EVERY_SUMS})
    sums = {c: sums[c] or 0 for c in EVERY_SUMS}
    return {**sums, "sentiment": sums["sentiment_sum"] / sums["sentiment_n"] if sums["sentiment_n"] else None,
            "ces_ease": sums["ces_ease_sum"] / sums["ces_ease_n"] if sums["ces_ease_n"] else None}


def _themes(ids) -> dict[int, Theme]:
    return {t.pk: t for t in Theme.objects.filter(pk__in=[i for i in ids if i]).only("name", "slug", "status")}


def _theme_label(theme: Theme | None) -> str:
    if theme is None:
        return "?"
    return f"{theme.name} (retired)" if theme.status == Theme.Status.RETIRED else theme.name


def _theme_link(filters: ReportFilters, theme: Theme | None, **extra) -> str:
    """The open cases (created in the period) whose responses are about the theme; no link while the
    inbox has no theme filter, rather than a link to cases of every theme."""
    known = inbox_filter_names()
    if theme is None or (known is not None and "theme" not in known):
        return ""
    return inbox_url(filters, view="team", theme=theme.slug, **date_params("created", filters.start, filters.end),
                     **extra)


def _sentiment100(value) -> float | None:
    """Average sentiment on a -100..100 scale (VADER's -1..1 times 100), one decimal, halves up
    (scoring.HALF_UP_NUDGE: the rollup sums the same floats in another order)."""
    return None if value is None else half_up(100.0 * value)


def _open_cases_by_theme(filters: ReportFilters) -> dict[int, int]:
    """Open cases created in the period per theme of their responses (the opening one or any
    attached later), each case counted once per theme: the inbox's theme filter. One statement
    from the case ids to the tags by their response ids (the unique indexes (case, response) and
    (response, theme)), never reading the responses themselves."""
    open_cases = filters.cases(Case.objects.open(), date_field="created_at").order_by().values("pk", "response_id")
    cases_sql, params = open_cases.query.sql_with_params()
    connection = connections[router.db_for_read(Case)]  # the replica for a report view
    qn = connection.ops.quote_name
    sql = f"""
        WITH open_cases (case_id, response_id) AS ({cases_sql})
        SELECT t.theme_id, COUNT(DISTINCT p.case_id)
        FROM (SELECT case_id, response_id FROM open_cases
              UNION
              SELECT cr.case_id, cr.response_id FROM {qn(CaseResponse._meta.db_table)} cr
              WHERE cr.case_id IN (SELECT case_id FROM open_cases)) p
        JOIN {qn(ResponseTheme._meta.db_table)} t ON t.response_id = p.response_id
        GROUP BY t.theme_id"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def themes_volume(filters: ReportFilters) -> Table:
    """How often each theme comes up, how customers feel about it, and the open cases about it."""
    rows = _rolled_by_theme(_theme_cells(filters))
    commented = _every_response(filters)["commented"]
    open_cases = _open_cases_by_theme(filters)
    themes = _themes(r["theme_id"] for r in rows)
    rows.sort(key=lambda r: (-r["responses"], _theme_label(themes.get(r["theme_id"]))))
    table = Table(
        "themes-volume",
        _("Themes: volume and sentiment"),
        [
            Column("theme", _("Theme")),
            Column("responses", _("Responses"), True),
            Column("unsolicited", _("Of which unsolicited"), True),
            Column("share", _("Share of comments %"), True),
            Column("positive_pct", _("Positive %"), True),
            Column("negative_pct", _("Negative %"), True),
            Column("sentiment", _("Average sentiment (-100 to 100)"), True),
            Column("open_cases", _("Open cases"), True),
        ],
        description=_("Responses answered in the period whose comment is about the theme (a comment can be "
                    "about several); share of all responses with a comment. Open cases: cases created in "
                    "the period and still open whose responses are about the theme. Unsolicited: reviews, support "
                    "ratings, chats and feedback forms nobody asked for."),
    )
    for r in rows:
        theme = themes.get(r["theme_id"])
        table.add(
            {
                "theme": _theme_label(theme),
                "responses": r["responses"],
                "unsolicited": r["unsolicited"],
                "share": pct(r["responses"], commented),
                "positive_pct": pct(r["positive"], r["rated"]),
                "negative_pct": pct(r["negative"], r["rated"]),
                "sentiment": _sentiment100(r["sentiment"]),
                "open_cases": open_cases.get(r["theme_id"], 0),
            },
            {"open_cases": _theme_link(filters, theme)},
        )
    return table


def themes_weekly(filters: ReportFilters) -> Table:
    """Responses per week and theme (weeks start on Monday, by answer date)."""
    cells = [{"week": r["week"], "theme_id": r["theme_id"], "n": r["tags"]}
             for r in _rolled(_theme_cells(filters), ("week", "theme_id"))]
    table = Table("themes-weekly", _("Themes by week"), [Column("theme", _("Theme"))],
                  description=_("Responses about each theme per week (week starting Monday)."))

    def labels(ids) -> dict[int, str]:
        themes = _themes(ids)
        return {i: _theme_label(themes.get(i)) for i in ids}

    return crosstab_by_week(cells, "theme_id", table, label_of=labels)


THEME_SCORE_COLUMNS = [*SCORE_COLUMNS, Column("sentiment", _("Average sentiment (-100 to 100)"), True)]


def themes_scores(filters: ReportFilters) -> Table:
    """NPS, CSAT and CES (computed as on the scores page) of the responses about each theme, with
    every response in scope as the last row to compare against."""
    rows = _rolled_by_theme(_theme_cells(filters))
    themes = _themes(r["theme_id"] for r in rows)
    rows.sort(key=lambda r: (-r["responses"], _theme_label(themes.get(r["theme_id"]))))
    table = Table(
        "themes-scores",
        _("Scores by theme"),
        [Column("theme", _("Theme")), Column("responses", _("Responses"), True), *THEME_SCORE_COLUMNS],
        description=_("The scores given with comments about each theme; the last row is every response in "
                    "the period, for comparison."),
    )
    for r in rows:
        table.add({"theme": _theme_label(themes.get(r["theme_id"])), "responses": r["responses"],
                   **score_figures(r), "sentiment": _sentiment100(r["sentiment"])})
    if rows:
        every = _every_response(filters)
        table.add({"theme": "All responses", "responses": every["responses"], **score_figures(every),
                   "sentiment": _sentiment100(every["sentiment"])})
    return table


def themes_by_touchpoint(filters: ReportFilters) -> Table:
    """Cross-tab of theme x touchpoint (the busiest touchpoints as columns, the rest in "Other")."""
    cells = [{"theme_id": r["theme_id"], "response__touchpoint": r["touchpoint"], "n": r["tags"]}
             for r in _rolled(_theme_cells(filters), ("theme_id", "touchpoint"))]
    table = Table(
        "themes-by-touchpoint", _("Themes by touchpoint"), [Column("theme", _("Theme"))],
        description=_("Responses about each theme per touchpoint; darker cells hold more. These count responses, "
                    "not cases, so they do not link to the inbox (the open cases per theme are in the first table)."),
    )
    themes: dict[int, Theme] = {}

    def label_of(ids) -> dict[int, str]:
        themes.update(_themes(ids))
        return {i: _theme_label(themes.get(i)) for i in ids}

    return crosstab_by_touchpoint(cells, "theme_id", table, label_of=label_of, link_of=lambda theme_id, **extra: "")

