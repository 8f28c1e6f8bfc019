"""The score totals (reporting.ScoreTotal, kept by database triggers): per local day, survey, source,
touchpoint and segment bits, what a direct aggregate over every team's responses gives (the score
counts, the low scores and their coverage), whatever happens to the responses afterwards (or to
their customers' segments); folded and rebuilt without changing a figure."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from customers.services.merging import customer_merge
from privacy.services import customer_erase
from reporting import score_totals
from reporting.models import ScoreTotal
from reporting.selectors.scoring import score_index
from reporting.selectors.scoring import ces_ease01, covered_q, low_score_q
from segments.models import Segment
from segments.services import segment_save
from surveys.models import Customer, SurveyResponse
from tests.reporting import builders as b
from tests.reporting.test_score_rollup import ANSWERS, START

pytestmark = pytest.mark.django_db

KEY = ("day", "survey_id", "source_id", "touchpoint", "segment_bits")
INTEGERS = ("responses", "nps_n", "promoters", "passives", "detractors", "csat_n", "ces_n", "ces_ease_n", "index_n",
            "low", "low_covered")


def direct() -> dict[tuple, dict]:
    """Straight from the responses, every team (and none) together."""
    rows = (SurveyResponse.objects.order_by().annotate(day=TruncDate("answered_at")).values(*KEY).annotate(
        responses=Count("*"), nps_n=Count("nps"), promoters=Count("pk", filter=Q(nps__gte=9)),
        passives=Count("pk", filter=Q(nps__in=[7, 8])), detractors=Count("pk", filter=Q(nps__lte=6)),
        csat_n=Count("csat"), ces_n=Count("ces"), ces_ease_n=Count(ces_ease01()), ces_ease_sum=Sum(ces_ease01()),
        index_n=Count(score_index()), index_sum=Sum(score_index()), low=Count("pk", filter=low_score_q()),
        low_covered=Count("pk", filter=low_score_q() & covered_q())))
    return {tuple(r[k] for k in KEY): {**{c: r[c] for c in INTEGERS}, "ces_ease_sum": round(r["ces_ease_sum"] or 0, 6),
                                       "index_sum": round(r["index_sum"] or 0, 6)} for r in rows}


def totals() -> dict[tuple, dict]:
    """The totals as a reader sees them: every row of a key summed (fresh deltas and folded rows)."""
    rows = ScoreTotal.objects.values(*KEY).annotate(**{f"s_{c}": Sum(c) for c in (*INTEGERS, "ces_ease_sum", "index_sum")})
    out = {}
    for r in rows:
        figures = {c: r[f"s_{c}"] for c in INTEGERS}
        if figures["responses"]:
            out[tuple(r[k] for k in KEY)] = {**figures, "ces_ease_sum": round(r["s_ces_ease_sum"], 6),
                                             "index_sum": round(r["s_index_sum"], 6)}
    return out


@pytest.fixture
def answered(personas):
    surveys = [b.survey("Relationship"), b.survey("Onboarding")]
    teams = [personas.north, personas.south, None]
    out = []
    for i in range(30):
        nps, csat, csat_scale, ces, ces_scale, easy = ANSWERS[i % len(ANSWERS)]
        out.append(b.response(teams[i % 3], at=START + dt.timedelta(days=i // 3, hours=(0, 23, 12)[i % 3]), nps=nps,
                              csat=csat, csat_scale=csat_scale, ces=ces, ces_scale=ces_scale, ces_high_is_easy=easy,
                              touchpoint=["Store", "Web", ""][i % 3], on_survey=surveys[i % 2], who=b.customer()))
    return out


def test_the_totals_are_every_teams_responses_summed(answered):
    assert ScoreTotal.objects.filter(fresh=True).exists()  # written by the triggers
    assert totals() == direct()
    assert sum(t["responses"] for t in totals().values()) == 30


def test_they_stay_exact_through_every_write(personas, answered):
    b.response(personas.south, at=START, nps=10, touchpoint="Phone")  # a new key
    SurveyResponse.objects.filter(pk=answered[0].pk).update(nps=0, csat=None)  # rescored
    SurveyResponse.objects.filter(pk=answered[1].pk).update(team=personas.north)  # a team move
    SurveyResponse.objects.filter(pk=answered[2].pk).update(answered_at=START + dt.timedelta(days=40))  # another day
    SurveyResponse.objects.filter(pk=answered[3].pk).update(touchpoint="Kiosk")  # another key
    SurveyResponse.objects.filter(pk__in=[r.pk for r in answered[10:14]]).delete()
    customer_erase(customer_id=answered[20].customer_id)
    customer_merge(merged_id=answered[21].customer_id, target_id=answered[22].customer_id, by=personas.adam)
    assert totals() == direct()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="segment bits: PostgreSQL")
def test_a_customers_segments_move_their_counts(personas, answered, django_capture_on_commit_callbacks):
    """The bits are a key: a segment saved (its bits built) and a customer who joins it later move
    their answers' counts to the new bit patterns."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        segment_save(Segment(name="Gold", conditions=[{"field": "tier", "operator": "equals", "value": "gold"}]))
    Customer.objects.filter(pk__in=[r.customer_id for r in answered[:5]]).update(tier="Gold")
    assert {r for r in SurveyResponse.objects.values_list("segment_bits", flat=True)} == {0, 1}
    assert totals() == direct()
    Customer.objects.filter(pk=answered[0].customer_id).update(tier="silver")
    assert totals() == direct()


def test_a_team_move_writes_no_delta(personas, answered):
    before = ScoreTotal.objects.count()
    SurveyResponse.objects.filter(pk__in=[r.pk for r in answered[:6]]).update(team=personas.south)
    assert ScoreTotal.objects.count() == before


def test_folding_and_rebuilding_keep_the_figures(answered):
    SurveyResponse.objects.filter(pk__in=[r.pk for r in answered[:3]]).delete()
    expected = direct()
    assert score_totals.compact() == 33  # a delta per response written, one per response deleted
    assert not ScoreTotal.objects.filter(fresh=True).exists()
    keys = ScoreTotal.objects.values(*KEY)
    assert keys.count() == keys.distinct().count() == len(expected)  # one row per key, emptied keys dropped
    assert totals() == expected
    ScoreTotal.objects.all().delete()  # lost, or never built (rows loaded with the triggers off)
    written = score_totals.rebuild()
    assert written == ScoreTotal.objects.count() == len(expected)
    assert totals() == expected
    assert score_totals.rebuild() == written  # idempotent
    out = StringIO()
    call_command("rollups", "--rebuild", stdout=out)
    assert "Rebuilt the every-team score rollup" in out.getvalue()
    assert totals() == expected
