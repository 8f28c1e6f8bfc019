"""The journey map's figures, computed by hand from the `mapped` fixture (conftest.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from journeys.selectors import stage_map, unmapped_touchpoints
from reporting import selectors
from reporting.filters import ReportFilters
from reporting.selectors import moments
from surveys.models import SurveyResponse
from tests.reporting import builders as b

pytestmark = pytest.mark.django_db


def north_filters(p) -> ReportFilters:
    now = timezone.now()
    return ReportFilters(team_ids=frozenset({p.north.pk}), start=now - dt.timedelta(days=90), end=now + dt.timedelta(days=1))


def test_a_response_takes_the_stage_of_its_touchpoint_then_survey_then_source(mapped):
    smap = stage_map(mapped.journey)
    buy, receive, get_help = mapped.stages
    stage_of = {(r.touchpoint, r.survey.name, r.source.slug, r.team_id): r.stage for r in
                SurveyResponse.objects.annotate(stage=smap.stage_expression()).select_related("survey", "source")}
    north, south = mapped.north.pk, mapped.south.pk
    assert stage_of == {
        ("Checkout", "Relationship", "test", north): buy.pk,
        ("Phone", "Relationship", "helpdesk", north): buy.pk,      # the source: nothing else is mapped
        ("Delivery", "Support", "test", north): receive.pk,         # its touchpoint beats its survey
        ("Phone", "Support", "test", north): get_help.pk,           # its survey
        ("Store", "Relationship", "test", north): None,
        ("Checkout", "Relationship", "test", south): buy.pk,
    }
    # The per-stage condition (the drill-down filter) counts what the expression groups.
    counts = [SurveyResponse.objects.filter(smap.stage_q(s.pk)).count() for s in mapped.stages]
    assert counts == [5, 2, 2]


def test_stage_figures_for_a_north_manager(mapped):
    table = selectors.journey_stages(north_filters(mapped))
    assert table.title == "Journey map: Subscriber"
    picked = [{k: row[k] for k in ("position", "stage", "responses", "score_index", "nps_n", "nps", "csat_n",
                                   "csat_top2_pct", "ces_n", "ces_avg", "cases", "open", "case_rate", "closed",
                                   "close_median_h", "top_root_causes")} for row in table.rows]
    assert picked == [
        {"position": 1, "stage": "Buy", "responses": 4, "score_index": 55.0, "nps_n": 4, "nps": 0.0, "csat_n": 0,
         "csat_top2_pct": None, "ces_n": 0, "ces_avg": None, "cases": 2, "open": 1, "case_rate": 50.0, "closed": 1,
         "close_median_h": 24.0, "top_root_causes": "T Delivery > Late (1)"},
        {"position": 2, "stage": "Receive", "responses": 2, "score_index": 50.0, "nps_n": 0, "nps": None, "csat_n": 2,
         "csat_top2_pct": 50.0, "ces_n": 0, "ces_avg": None, "cases": 1, "open": 0, "case_rate": 50.0, "closed": 1,
         "close_median_h": 48.0, "top_root_causes": "T Product > Defect (1)"},
        {"position": 3, "stage": "Get help", "responses": 2, "score_index": 50.0, "nps_n": 0, "nps": None,
         "csat_n": 0, "csat_top2_pct": None, "ces_n": 2, "ces_avg": 4.0, "cases": 0, "open": 0, "case_rate": 0.0,
         "closed": 0, "close_median_h": None, "top_root_causes": ""},
    ]


def test_an_admin_sees_every_team(mapped):
    table = selectors.journey_stages(ReportFilters(team_ids=None, start=timezone.now() - dt.timedelta(days=90)))
    assert [row["responses"] for row in table.rows] == [5, 2, 2]
    assert table.rows[0]["nps"] == -20.0  # 2 promoters, 3 detractors of 5


def test_pain_points_rank_by_score_and_case_rate(mapped, monkeypatch):
    from reporting.selectors import journeys as journey_selectors

    monkeypatch.setattr(journey_selectors, "PAIN_MIN_RESPONSES", 2)
    table = selectors.journey_pain_points(north_filters(mapped))
    assert [(r["rank"], r["stage"], r["score_rank"], r["case_rate_rank"]) for r in table.rows] == [
        (1, "Receive", 1, 2),   # index 50 (tied, earlier stage), 50 cases per 100
        (2, "Buy", 3, 1),       # index 55, 50 cases per 100 (the earlier stage)
        (3, "Get help", 2, 3),  # index 50, no cases
    ]


def test_too_few_responses_are_not_ranked_as_pain_points(mapped):
    assert selectors.journey_pain_points(north_filters(mapped)).rows == []


def test_the_trend_holds_each_stage_by_month(mapped):
    table = selectors.journey_trend(north_filters(mapped))
    month = "m" + timezone.localtime(timezone.now() - dt.timedelta(days=10)).strftime("%Y-%m")
    assert [(row["stage"], row[month], row["total"]) for row in table.rows] == [
        ("Buy", 55.0, 4), ("Receive", 50.0, 2), ("Get help", 50.0, 2)]


def test_unmapped_touchpoints_with_their_counts(mapped):
    rows = unmapped_touchpoints(stage_map(mapped.journey))
    # Phone: 3 responses, each reaching a stage through its survey or source; Store: none.
    assert [(r.touchpoint, r.responses, r.without_stage) for r in rows] == [("Phone", 3, 0), ("Store", 1, 1)]


# --- moments of truth -------------------------------------------------------------------------
def test_ranks_share_ties():
    assert moments.ranks(moments.np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_a_perfect_ordering_has_rho_one_and_a_tight_interval():
    e = moments.spearman_bootstrap(list(range(40)), [v * 2 + 1 for v in range(40)])
    assert (e.customers, e.rho, e.low, e.high) == (40, 1.0, 1.0, 1.0)


def test_a_reversed_ordering_has_rho_minus_one():
    e = moments.spearman_bootstrap(list(range(30)), list(range(30, 0, -1)))
    assert (e.customers, round(e.rho, 6), round(e.high, 6)) == (30, -1.0, -1.0)


def test_fewer_than_thirty_customers_is_not_enough_data():
    e = moments.spearman_bootstrap(list(range(29)), list(range(29)))
    assert (e.customers, e.rho, e.low, e.high) == (29, None, None, None)


def test_the_interval_is_the_same_every_time():
    x = [i % 7 for i in range(60)]
    y = [(i * 3) % 11 for i in range(60)]
    first, second = moments.spearman_bootstrap(x, y), moments.spearman_bootstrap(x, y)
    assert first == second
    assert first.low < first.rho < first.high


def test_moments_of_truth_from_customers_answers(personas):
    """33 customers: their Checkout score (Buy) rises with their relationship NPS; Delivery
    (Receive) has 3 customers only."""
    from journeys import services
    from tests.journeys.conftest import journey_with_stages

    journey, (buy, receive, get_help), _ = journey_with_stages()
    relationship = b.survey("Relationship")
    services.journey_update(journey=journey, name=journey.name, relationship_survey=relationship)
    at = timezone.now() - dt.timedelta(days=5)
    for i in range(33):
        who = b.customer(f"C{i}")
        b.response(personas.north, at=at, nps=i // 3, touchpoint="Relationship email", who=who, on_survey=relationship)
        b.response(personas.north, at=at, nps=i // 3, touchpoint="Checkout", who=who, on_survey=b.survey("Shop"))
        if i < 3:
            b.response(personas.north, at=at, csat=5, touchpoint="Delivery", who=who, on_survey=b.survey("Shop"))
    table = selectors.journey_moments_of_truth(north_filters(personas))
    assert [(r["stage"], r["customers"], r["rho"], r["ci_low"], r["ci_high"], r["verdict"]) for r in table.rows] == [
        ("Buy", 33, Decimal("1.00"), Decimal("1.00"), Decimal("1.00"), "yes"),
        ("Receive", 3, None, None, None, "not enough data"),
        ("Get help", 0, None, None, None, "not enough data"),
    ]


def test_without_a_relationship_survey_the_table_says_how_to_choose_one(mapped):
    table = selectors.journey_moments_of_truth(north_filters(mapped))
    assert table.rows == []
    assert "relationship survey" in table.description


def test_moments_are_kept_until_the_journey_changes(personas):
    """The estimates are cached per journey (as mapped) and filters: new answers wait for the
    cache, a mapping change is seen at once."""
    from journeys import services
    from tests.journeys.conftest import journey_with_stages

    journey, (buy, receive, get_help), _ = journey_with_stages()
    relationship = b.survey("Relationship")
    services.journey_update(journey=journey, name=journey.name, relationship_survey=relationship)
    at = timezone.now() - dt.timedelta(days=5)
    for i in range(31):
        who = b.customer(f"K{i}")
        b.response(personas.north, at=at, nps=i % 11, touchpoint="Relationship email", who=who, on_survey=relationship)
        b.response(personas.north, at=at, nps=(i * 3) % 11, touchpoint="Checkout", who=who, on_survey=b.survey("Shop"))
    filters = north_filters(personas)

    def customers_by_stage():
        return {r["stage"]: r["customers"] for r in selectors.journey_moments_of_truth(filters).rows}

    assert customers_by_stage() == {"Buy": 31, "Receive": 0, "Get help": 0}
    who = b.customer("Late")
    b.response(personas.north, at=at, nps=5, touchpoint="Relationship email", who=who, on_survey=relationship)
    b.response(personas.north, at=at, nps=5, touchpoint="Checkout", who=who, on_survey=b.survey("Shop"))
    assert customers_by_stage()["Buy"] == 31  # kept
    services.mapping_set(stage=receive, touchpoint="Checkout")
    assert customers_by_stage() == {"Buy": 0, "Receive": 32, "Get help": 0}


def test_the_median_to_close_counts_business_hours_in_each_cases_team_calendar(personas):
    """North is open Monday to Friday 09:00-17:00 (UTC); South has no opening hours (always open)."""
    from tests.journeys.conftest import journey_with_stages

    journey_with_stages()
    north = personas.north
    north.timezone, north.holiday_country = "UTC", ""
    north.opening_hours = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    north.save()
    personas.south.opening_hours = {}
    personas.south.save()
    friday_4pm = dt.datetime(2026, 11, 20, 16, 0, tzinfo=dt.UTC)
    monday_9am = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    for team, opened, closed in [
        (north, friday_4pm, monday_9am + dt.timedelta(hours=1)),  # 1 h on Friday + 1 h on Monday: 2
        (north, monday_9am, monday_9am + dt.timedelta(hours=4)),  # 4
        (personas.south, friday_4pm, monday_9am + dt.timedelta(hours=1)),  # always open: 66
    ]:
        resp = b.response(team, at=opened, nps=2, touchpoint="Checkout")
        b.case(team, created=opened, resp=resp, contacted=opened, closed=closed)
    period = {"start": dt.datetime(2026, 11, 1, tzinfo=dt.UTC), "end": dt.datetime(2026, 12, 1, tzinfo=dt.UTC)}
    rows = selectors.journey_stages(ReportFilters(team_ids=None, **period)).rows
    assert [(r["stage"], r["closed"], r["close_median_h"]) for r in rows] == [
        ("Buy", 3, 4.0), ("Receive", 0, None), ("Get help", 0, None)]
    north_only = selectors.journey_stages(ReportFilters(team_ids=frozenset({north.pk}), **period)).rows
    assert (north_only[0]["closed"], north_only[0]["close_median_h"]) == (2, 3.0)  # (2 + 4) / 2, not (66 + 4) / 2


# --- the stage scores from the score rollup -------------------------------------------------------
def local_days_filters(team_ids) -> ReportFilters:
    """The page's own period: whole local days (the last 90 and today), which the rollup can answer."""
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return ReportFilters(team_ids=team_ids, start=today - dt.timedelta(days=90), end=today + dt.timedelta(days=1))


def test_the_page_period_reads_the_stage_scores_from_the_rollup(mapped, django_assert_num_queries):
    from reporting.selectors import journeys as journey_selectors

    filters = local_days_filters(frozenset({mapped.north.pk}))
    smap = stage_map(mapped.journey)
    with django_assert_num_queries(1) as captured:
        rows = journey_selectors.monthly_scores(filters, smap)
    assert "surveys_scorerollup" in captured.captured_queries[0]["sql"]
    assert "surveys_surveyresponse" not in captured.captured_queries[0]["sql"]
    buy, receive, get_help = mapped.stages
    assert sorted((r["stage"], r["responses"], r["index_n"], r["index_sum"], r["nps_n"], r["promoters"],
                   r["detractors"], r["csat_n"], r["csat_top2"], r["ces_n"]) for r in rows) == sorted([
        # Checkout 10, 9, 3 and the helpdesk source's 0: index 100 + 90 + 30 + 0.
        (buy.pk, 4, 4, 220.0, 4, 2, 2, 0, 0, 0),
        # CSAT 5 and 1 of 1-5: 100 % and 0 %.
        (receive.pk, 2, 2, 100.0, 0, 0, 0, 2, 1, 0),
        # CES 7 and 1 of 1-7: ease 100 % and 0 %.
        (get_help.pk, 2, 2, 100.0, 0, 0, 0, 0, 0, 2),
    ])


def test_the_rollup_and_the_responses_give_the_same_stage_figures(mapped):
    """Every figure of the stage table and the trend, read from the rollup (the page's period) and
    from the responses themselves (the same period), for a manager and for an admin; with answers on
    every metric, scales and directions, a survey mapped to a stage, a source mapped, and answers
    changed and deleted after the rollup counted them."""
    from reporting.selectors import journeys as journey_selectors

    at = timezone.now() - dt.timedelta(days=40)
    support = b.survey("Support")
    b.response(mapped.north, at=at, nps=7, csat=4, csat_scale=(1, 5), touchpoint="Checkout")  # CSAT wins the index
    b.response(mapped.north, at=at, ces=2, ces_scale=(1, 5), ces_high_is_easy=False, touchpoint="Delivery")
    b.response(mapped.south, at=at, csat=9, csat_scale=(0, 10), touchpoint="Phone", on_survey=support)
    moved = b.response(mapped.south, at=at, nps=6, touchpoint="Store")
    SurveyResponse.objects.filter(pk=moved.pk).update(touchpoint="Delivery", nps=2)  # the triggers move its counts
    SurveyResponse.objects.filter(touchpoint="Store").delete()
    SurveyResponse.objects.filter(pk=moved.pk).update(team=mapped.north)  # a team move: no total changes
    smap = stage_map(mapped.journey)
    for team_ids, table in ((frozenset({mapped.north.pk}), "surveys_scorerollup"), (None, "reporting_scoretotal")):
        filters = local_days_filters(team_ids)
        with CaptureQueriesContext(connection) as captured:
            from_rollup = journey_selectors.monthly_scores(filters, smap)
        # A manager's teams from the per-team rollup, an admin's every team from the totals.
        assert [table in q["sql"] and "surveys_surveyresponse" not in q["sql"] for q in captured] == [True]
        from_responses = journey_selectors._monthly_from_responses(filters, smap)

        def key(rows):
            return sorted(({**r, "index_sum": round(r["index_sum"], 9), "ces_ease_sum": round(r["ces_ease_sum"] or 0, 9)}
                           for r in rows), key=lambda r: (r["stage"], r["month"]))

        assert key(from_rollup) == key(from_responses)
        assert len(from_rollup) >= 3


@pytest.mark.parametrize("maps_a_source", [False, True])
def test_the_top_themes_read_the_theme_rollup_and_equal_the_tags_joined_to_their_responses(mapped, maps_a_source):
    """Each stage's top themes from the daily theme rollup (the page's whole local days) equal
    those counted from the tags and their responses (a bound that is not a midnight, which the
    rollup cannot answer), for a manager and for an admin; with the journey's source mapping (the
    rollup reads each survey's source) and without it."""
    from journeys.models import StageMapping
    from reporting.selectors import journeys as journey_selectors
    from tests.factories import ResponseThemeFactory, ThemeFactory

    if not maps_a_source:
        StageMapping.objects.filter(journey=mapped.journey, kind=StageMapping.Kind.SOURCE).delete()
    late, rude, price = (ThemeFactory(name=name) for name in ("Late delivery", "Rude staff", "Price"))
    for touchpoint, themes in (("Checkout", (late, rude, late)), ("Delivery", (late, price)), ("Store", (rude,))):
        for response, theme in zip(SurveyResponse.objects.filter(touchpoint=touchpoint, team=mapped.north), themes):
            ResponseThemeFactory(response=response, theme=theme)
    south = SurveyResponse.objects.get(team=mapped.south)
    ResponseThemeFactory(response=south, theme=price)
    smap = stage_map(mapped.journey)
    assert bool(smap.all_sources) == maps_a_source
    buy, receive, _get_help = mapped.stages
    for team_ids, expected in ((frozenset({mapped.north.pk}), {buy.pk: [("Late delivery", 2), ("Rude staff", 1)]}),
                               (None, {buy.pk: [("Late delivery", 2), ("Price", 1), ("Rude staff", 1)]})):
        whole_days = local_days_filters(team_ids)
        not_midnight = ReportFilters(team_ids=team_ids, start=whole_days.start + dt.timedelta(seconds=1),
                                     end=whole_days.end)
        with CaptureQueriesContext(connection) as captured:
            from_rollup = journey_selectors._theme_counts(whole_days, smap)
        assert any("reporting_themerollup" in q["sql"] for q in captured)
        assert not any("surveys_responsetheme" in q["sql"] for q in captured)
        direct = journey_selectors._theme_counts(not_midnight, smap)

        def by_stage(rows):
            return sorted((r["stage"] or 0, r["label"], r["n"]) for r in rows)  # 0: no stage (Store)

        assert by_stage(from_rollup) == by_stage(direct)
        assert sorted((label, n) for stage, label, n in by_stage(from_rollup) if stage == buy.pk) == expected[buy.pk]
        assert sorted((label, n) for stage, label, n in by_stage(from_rollup) if stage == receive.pk) == [
            ("Late delivery", 1), ("Price", 1)]


def test_the_tags_joined_to_their_responses_read_only_the_periods_months_of_the_responses(mapped):
    """A period the theme rollup cannot answer (bounds that are not local midnights): the top
    themes from the tags joined to their responses, the responses bounded by the period too, so PostgreSQL reads only
    the period's monthly partitions (joined by id alone it read every month's). The same counts,
    for a manager and for an admin: a tag in the period counted, one of a response a month
    earlier not."""
    from core import partitions
    from reporting.selectors import journeys as journey_selectors
    from tests.factories import ResponseThemeFactory, ThemeFactory

    smap = stage_map(mapped.journey)
    buy = mapped.stages[0]
    next_month = partitions.add_months(partitions.month_start(dt.datetime.now(dt.UTC).date()), 1)
    start = dt.datetime.combine(next_month, dt.time(12), tzinfo=dt.UTC)
    late, price = ThemeFactory(name="Late delivery"), ThemeFactory(name="Price")
    inside = b.response(mapped.north, at=start + dt.timedelta(days=3), nps=2, touchpoint="Checkout")
    before = b.response(mapped.north, at=start - dt.timedelta(days=20), nps=2, touchpoint="Checkout")
    ResponseThemeFactory(response=inside, theme=late)
    ResponseThemeFactory(response=before, theme=price)
    responses = "surveys_surveyresponse"
    for team_ids in (frozenset({mapped.north.pk}), None):
        filters = ReportFilters(team_ids=team_ids, start=start, end=start + dt.timedelta(days=10))
        with CaptureQueriesContext(connection) as captured:
            rows = journey_selectors._theme_counts(filters, smap)
        assert [(r["stage"], r["label"], r["n"]) for r in rows] == [(buy.pk, "Late delivery", 1)]
        (query,) = captured.captured_queries
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + query["sql"])
            plan = "\n".join(row for (row,) in cursor.fetchall())
        read = sorted({word for word in plan.split() if word.startswith(f"{responses}_p") or word == f"{responses}_default"})
        assert read == [partitions.partition_name(responses, next_month)]
