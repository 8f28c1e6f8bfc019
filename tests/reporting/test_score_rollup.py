"""The Scores page and the score-trend API read the daily rollup (surveys.ScoreRollup, kept by
database triggers); their figures must be what a direct aggregate over the responses gives,
whatever happens to the responses afterwards."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.db.models import Count
from django.db.models.functions import TruncMonth, TruncWeek
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.services.merging import customer_merge
from privacy.services import customer_erase
from reporting import selectors
from reporting.filters import ReportFilters
from reporting.selectors.scoring import score_aggregates, score_figures
from surveys import rollups
from surveys.models import ScoreRollup, SurveyResponse
from tests.reporting import builders as b

UTC = dt.UTC
START, END = dt.datetime(2025, 3, 1, tzinfo=UTC), dt.datetime(2025, 5, 1, tzinfo=UTC)

# (nps, csat, csat scale, ces, ces scale, high is easy): every arithmetic case the figures have,
# a CES scale of one point (no ease), a CSAT on a 10-point scale, no score at all.
ANSWERS = [
    (10, 5, (1, 5), 7, (1, 7), None),
    (9, None, (1, 5), 2, (1, 7), True),
    (8, 4, (1, 5), 5, (1, 5), False),
    (6, 9, (1, 10), 2, (1, 5), False),
    (0, 1, (1, 5), None, (1, 7), None),
    (None, 3, (1, 5), 4, (4, 4), None),
    (None, None, (1, 5), None, (1, 7), None),
    (7, 5, (1, 10), 6, (1, 7), True),
]


def direct_trend(filters: ReportFilters, period: str) -> list[dict]:
    """The weekly or monthly figures straight from the responses."""
    trunc = TruncWeek if period == "week" else TruncMonth
    rows = (
        filters.responses()
        .order_by()
        .annotate(period=trunc("answered_at"))
        .values("period")
        .annotate(responses=Count("*"), **score_aggregates())
        .order_by("-period")
    )
    label = (
        (lambda d: d.isoformat())
        if period == "week"
        else (lambda d: d.strftime("%Y-%m"))
    )
    return [
        {
            "period": label(timezone.localtime(r["period"]).date()),
            "responses": r["responses"],
            **score_figures(r),
        }
        for r in rows
    ]


def direct_by(filters: ReportFilters, field_name: str) -> dict:
    rows = (
        filters.responses()
        .order_by()
        .values(field_name)
        .annotate(responses=Count("*"), **score_aggregates())
    )
    return {
        r[field_name]: {"responses": r["responses"], **score_figures(r)} for r in rows
    }


def served_by(filters: ReportFilters, by: str) -> dict:
    return {
        r["group"]: {k: v for k, v in r.items() if k != "group"}
        for r in selectors.scores_by(filters, by).rows
    }


def assert_same_as_direct(filters: ReportFilters, personas) -> None:
    for period in ("week", "month"):
        assert selectors.scores_trend(filters, period).rows == direct_trend(
            filters, period
        )
    survey_names = {
        s.pk: s.name for s in [b.survey("Relationship"), b.survey("Onboarding")]
    }
    assert served_by(filters, "touchpoint") == {
        k or "(none)": v for k, v in direct_by(filters, "touchpoint").items()
    }
    assert served_by(filters, "survey") == {
        survey_names[k]: v for k, v in direct_by(filters, "survey_id").items()
    }
    team_names = {
        personas.north.pk: personas.north.name,
        personas.south.pk: personas.south.name,
    }
    assert served_by(filters, "team") == {
        team_names.get(k, "(no team)"): v
        for k, v in direct_by(filters, "team_id").items()
    }


@pytest.fixture
def answered(personas):
    """Eight kinds of answer, spread over two teams, two surveys, three touchpoints (one blank),
    nine weeks and the midnight edges of days, plus responses of no team."""
    surveys = [b.survey("Relationship"), b.survey("Onboarding")]
    teams = itertools.cycle([personas.north, personas.south, personas.north, None])
    touchpoints = itertools.cycle(["Store", "Web", "", "Store", "Web"])
    responses = []
    for i in range(64):
        nps, csat, csat_scale, ces, ces_scale, easy = ANSWERS[i % len(ANSWERS)]
        at = START + dt.timedelta(
            days=i, hours=(0, 23, 12)[i % 3], minutes=(0, 59, 30)[i % 3]
        )
        responses.append(
            b.response(
                next(teams),
                at=at,
                nps=nps,
                csat=csat,
                csat_scale=csat_scale,
                ces=ces,
                ces_scale=ces_scale,
                ces_high_is_easy=easy,
                touchpoint=next(touchpoints),
                on_survey=surveys[i % 2],
                who=b.customer(),
            )
        )
    return responses


def manager_filters(personas, **extra) -> ReportFilters:
    return ReportFilters(
        team_ids=frozenset({personas.north.pk, personas.south.pk}),
        start=START,
        end=END,
        **extra,
    )


def test_the_figures_come_from_the_rollup(personas, answered):
    filters = manager_filters(personas)
    with CaptureQueriesContext(connection) as queries:
        selectors.scores_trend(filters, "week")
    assert [q["sql"].count("surveys_scorerollup") > 0 for q in queries] == [True]
    assert not any("surveys_surveyresponse" in q["sql"] for q in queries)


def test_the_rollup_gives_what_the_responses_give(personas, answered):
    assert ScoreRollup.objects.filter(
        fresh=True
    ).exists()  # written by the triggers, not yet folded
    assert_same_as_direct(manager_filters(personas), personas)
    assert_same_as_direct(
        ReportFilters(team_ids=None, start=START, end=END), personas
    )  # an admin: no team too
    assert_same_as_direct(manager_filters(personas, touchpoint="Web"), personas)
    assert_same_as_direct(
        ReportFilters(
            team_ids=frozenset({personas.north.pk}),
            survey_id=b.survey().pk,
            start=START + dt.timedelta(days=9),
            end=END - dt.timedelta(days=20),
        ),
        personas,
    )
    assert_same_as_direct(
        ReportFilters(team_ids=frozenset({personas.south.pk})), personas
    )  # all time


def test_team_scoping_is_kept(personas, answered):
    north_only = ReportFilters(
        team_ids=frozenset({personas.north.pk}), start=START, end=END
    )
    assert {r["group"] for r in selectors.scores_by(north_only, "team").rows} == {
        personas.north.name
    }
    assert (
        sum(r["responses"] for r in selectors.scores_trend(north_only, "week").rows)
        == 31
    )  # 32, one after END
    nobody = ReportFilters(team_ids=frozenset(), start=START, end=END)
    assert selectors.scores_trend(nobody, "week").rows == []


def test_it_stays_exact_through_new_answers_changes_erasure_and_deletion(
    personas, answered
):
    filters = manager_filters(personas)
    b.response(
        personas.south, at=START + dt.timedelta(days=3), nps=10, touchpoint="Phone"
    )  # a new touchpoint
    SurveyResponse.objects.filter(pk=answered[0].pk).update(
        nps=0, csat=None
    )  # rescored
    SurveyResponse.objects.filter(pk=answered[3].pk).update(
        team=personas.north
    )  # routed to another team
    SurveyResponse.objects.filter(pk=answered[5].pk).update(
        answered_at=START + dt.timedelta(days=40)
    )  # moved in time
    SurveyResponse.objects.filter(pk=answered[6].pk).update(
        comment="not a score: no delta"
    )
    SurveyResponse.objects.filter(pk__in=[r.pk for r in answered[10:14]]).delete()
    customer_erase(customer_id=answered[20].customer_id)
    assert_same_as_direct(filters, personas)
    assert SurveyResponse.objects.filter(pk=answered[20].pk, comment="").exists()


def test_a_customer_merge_changes_no_figure(personas, answered):
    before = selectors.scores_trend(manager_filters(personas), "week").rows
    customer_merge(
        merged_id=answered[1].customer_id,
        target_id=answered[2].customer_id,
        by=personas.adam,
    )
    assert selectors.scores_trend(manager_filters(personas), "week").rows == before
    assert_same_as_direct(manager_filters(personas), personas)


def test_compaction_folds_deltas_and_keeps_the_figures(personas, answered):
    filters = manager_filters(personas)
    SurveyResponse.objects.filter(
        pk__in=[r.pk for r in answered[:8]]
    ).delete()  # a key emptied entirely
    fresh = ScoreRollup.objects.filter(fresh=True).count()
    assert (
        rollups.compact() == fresh == 64 + 8
    )  # a delta per response written, one per response deleted
    assert not ScoreRollup.objects.filter(fresh=True).exists()
    assert not ScoreRollup.objects.filter(responses=0).exists()
    keys = ScoreRollup.objects.values("day", "team_id", "survey_id", "touchpoint")
    assert keys.count() == keys.distinct().count()  # one row per key
    assert_same_as_direct(filters, personas)
    assert rollups.compact() == 0  # nothing fresh: nothing to do
    b.response(personas.north, at=START, nps=9)
    rollups.compact()
    assert_same_as_direct(filters, personas)


def test_the_backfill_rebuilds_the_same_rollup_and_can_run_again(personas, answered):
    filters = manager_filters(personas)
    ScoreRollup.objects.all().delete()  # an install whose rollup is lost or was never built
    assert selectors.scores_trend(filters, "week").rows == []
    written = rollups.rebuild()
    assert written == ScoreRollup.objects.count() > 0
    assert_same_as_direct(filters, personas)
    assert rollups.rebuild() == written  # a re-run writes the same rows, counted once
    assert_same_as_direct(filters, personas)
    b.response(
        personas.north, at=START, nps=3
    )  # the triggers still count after a rebuild
    assert_same_as_direct(filters, personas)


def test_local_days_follow_the_time_zone(personas, answered, settings):
    settings.TIME_ZONE = "America/New_York"
    rollups.rebuild()  # what the docs say to run after changing TIME_ZONE
    tz = timezone.get_current_timezone()
    filters = ReportFilters(
        team_ids=frozenset({personas.north.pk, personas.south.pk}),
        start=dt.datetime(2025, 3, 2, tzinfo=tz),
        end=dt.datetime(2025, 4, 13, tzinfo=tz),
    )
    assert_same_as_direct(filters, personas)
    b.response(
        personas.north, at=dt.datetime(2025, 3, 3, 3, 30, tzinfo=UTC), nps=10
    )  # still March 2nd there
    assert_same_as_direct(filters, personas)


def test_filters_the_rollup_has_no_key_for_read_the_responses(personas, answered):
    for filters in (
        manager_filters(personas, location="Leeds"),
        manager_filters(personas, tier="Gold"),
        ReportFilters(
            team_ids=frozenset({personas.north.pk}),
            start=START + dt.timedelta(hours=6),
            end=END,
        ),
    ):
        assert selectors.score_rollup(filters) is None
        assert selectors.scores_trend(filters, "week").rows == direct_trend(
            filters, "week"
        )


def test_the_command_folds_and_rebuilds(personas, answered):
    from io import StringIO

    from django.core.management import call_command

    filters = manager_filters(personas)
    out = StringIO()
    call_command("rollups", stdout=out)
    assert out.getvalue().startswith("Folded 64 score rollup deltas")
    assert not ScoreRollup.objects.filter(fresh=True).exists()
    call_command("rollups", "--rebuild", stdout=out)
    assert "Rebuilt the score rollup" in out.getvalue()
    assert_same_as_direct(filters, personas)


def test_the_beat_task_folds(personas, answered):
    from reporting import contact_breaches
    from reporting.tasks import rollups_compact_task

    contact_breaches.rebuild()  # the contact breaches from the answers (tests/contactpolicy fold them)
    # followups: the 48 customers of the answers with an NPS score (reporting.followups)
    # themes: no answer has a theme tag (tests/reporting/test_theme_rollup.py folds some)
    # last_answer_days: the 64 answers' customers' latest answers, one delta each
    assert rollups_compact_task() == {"scores": 64, "closures": 0, "closure_totals": 0, "score_totals": 64, "location_totals": 64,
                                      "segment_rollup": 64, "themes": 0, "theme_totals": 0, "last_answer_days": 64,
                                      "followups": 48, "contact_breaches": 0}
    assert rollups_compact_task() == {"scores": 0, "closures": 0, "closure_totals": 0, "score_totals": 0, "location_totals": 0,
                                      "segment_rollup": 0, "themes": 0, "theme_totals": 0, "last_answer_days": 0,
                                      "followups": 0, "contact_breaches": 0}


def test_answers_recorded_by_the_pipeline_count_once_even_when_delivered_and_processed_twice(
    personas,
):
    from surveys.ingest import delivery_store
    from surveys.services import deliveries_process
    from tests.surveys.payloads import closeloop_body, make_source

    source = make_source("standard")

    def store(response_id: str, delivery_id: str, nps: int):
        body = closeloop_body(
            response_id=response_id, nps=nps, email=f"{response_id}@example.com"
        )
        delivery, _ = delivery_store(
            source=source,
            delivery_id=delivery_id,
            content_type="application/json",
            headers={},
            body=body,
        )
        return delivery.pk

    pks = [store(f"p-{i}", f"d-{i}", nps) for i, nps in enumerate([10, 9, 7, 3, 0])]
    assert set(deliveries_process(delivery_pks=pks).values()) == {"processed"}
    assert deliveries_process(delivery_pks=pks) == dict.fromkeys(
        pks, "skipped"
    )  # a task re-run
    again = store("p-0", "d-again", 10)  # the same answer delivered again
    assert deliveries_process(delivery_pks=[again]) == {again: "processed"}
    filters = ReportFilters(
        team_ids=None, start=dt.datetime(2025, 3, 1, tzinfo=UTC), end=END
    )
    assert SurveyResponse.objects.count() == 5
    assert (
        sum(r["responses"] for r in selectors.scores_trend(filters, "week").rows) == 5
    )
    assert selectors.scores_trend(filters, "week").rows == direct_trend(filters, "week")
    assert selectors.scores_trend(filters, "month").rows == direct_trend(
        filters, "month"
    )
