"""The totals (kept by database triggers): the score totals (reporting.ScoreTotal) per local day,
survey, source, touchpoint and segment bits, the location totals (reporting.LocationTotal) per local
day, survey, touchpoint and location, and the segment rollup (reporting.SegmentRollup) per local
day, team and segment bits, each what a direct aggregate over the responses gives (the score counts, the low scores and their
coverage, and for the score totals every answer a case covers), whatever happens to the responses afterwards (or to their customers' segments); folded
and rebuilt without changing a figure."""

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
from reporting.models import LocationTotal, ScoreTotal, SegmentRollup
from reporting.selectors.scoring import score_index
from reporting.selectors.scoring import ces_ease01, covered_q, low_score_q
from segments.models import Segment
from segments.services import segment_save
from surveys.models import Customer, SurveyResponse
from tests.reporting import builders as b
from tests.reporting.test_score_rollup import ANSWERS, START

pytestmark = pytest.mark.django_db

KEY = ("day", "survey_id", "source_id", "touchpoint", "segment_bits")
LOCATION_KEY = ("day", "survey_id", "touchpoint", "location")
SEGMENT_KEY = ("day", "team_id", "segment_bits")
# Each level: its model, its triggers' module-level spec and its key.
LEVELS = {"scores": (ScoreTotal, score_totals.SCORES, KEY),
          "locations": (LocationTotal, score_totals.LOCATIONS, LOCATION_KEY),
          "segments": (SegmentRollup, score_totals.SEGMENTS, SEGMENT_KEY)}
INTEGERS = ("responses", "nps_n", "promoters", "passives", "detractors", "csat_n", "ces_n", "ces_ease_n", "index_n",
            "low", "low_covered")
# The score totals count every answer a case covers too (reporting 0020: the segment comparison's case rate).
# The segment rollup the comments and sentiments too (the Themes page's "All responses" row).
COUNTED = {ScoreTotal: (*INTEGERS, "covered"), LocationTotal: INTEGERS,
           SegmentRollup: (*INTEGERS, "commented", "sentiment_n")}


def direct(key: tuple[str, ...] = KEY, model=ScoreTotal) -> dict[tuple, dict]:
    """Straight from the responses, every team (and none) together, per `key`."""
    rows = (SurveyResponse.objects.order_by().annotate(day=TruncDate("answered_at")).values(*key).annotate(
        responses=Count("*"), nps_n=Count("nps"), promoters=Count("pk", filter=Q(nps__gte=9)),
        passives=Count("pk", filter=Q(nps__in=[7, 8])), detractors=Count("pk", filter=Q(nps__lte=6)),
        csat_n=Count("csat"), ces_n=Count("ces"), ces_ease_n=Count(ces_ease01()), ces_ease_sum=Sum(ces_ease01()),
        index_n=Count(score_index()), index_sum=Sum(score_index()), low=Count("pk", filter=low_score_q()),
        low_covered=Count("pk", filter=low_score_q() & covered_q()), covered=Count("pk", filter=covered_q()),
        commented=Count("pk", filter=~Q(comment="")), sentiment_n=Count("sentiment")))
    counted = COUNTED[model]
    return {tuple(r[k] for k in key): {**{c: r[c] for c in counted}, "ces_ease_sum": round(r["ces_ease_sum"] or 0, 6),
                                       "index_sum": round(r["index_sum"] or 0, 6)} for r in rows}


def totals(model=ScoreTotal, key: tuple[str, ...] = KEY) -> dict[tuple, dict]:
    """The totals as a reader sees them: every row of a key summed (fresh deltas and folded rows)."""
    rows = model.objects.values(*key).annotate(**{f"s_{c}": Sum(c) for c in (*COUNTED[model], "ces_ease_sum", "index_sum")})
    out = {}
    for r in rows:
        figures = {c: r[f"s_{c}"] for c in COUNTED[model]}
        if figures["responses"]:
            out[tuple(r[k] for k in key)] = {**figures, "ces_ease_sum": round(r["s_ces_ease_sum"], 6),
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
                              touchpoint=["Store", "Web", ""][i % 3], location=["Leeds", "York", "Leeds", ""][i % 4],
                              on_survey=surveys[i % 2], who=b.customer()))
    return out


@pytest.mark.parametrize("level", LEVELS)
def test_the_totals_are_every_teams_responses_summed(answered, level):
    model, _spec, key = LEVELS[level]
    assert model.objects.filter(fresh=True).exists()  # written by the triggers
    assert totals(model, key) == direct(key, model)
    assert sum(t["responses"] for t in totals(model, key).values()) == 30


@pytest.mark.parametrize("level", LEVELS)
def test_they_stay_exact_through_every_write(personas, answered, level):
    model, _spec, key = LEVELS[level]
    b.response(personas.south, at=START, nps=10, touchpoint="Phone", location="Hull")  # a new key
    SurveyResponse.objects.filter(pk=answered[0].pk).update(nps=0, csat=None)  # rescored
    SurveyResponse.objects.filter(pk=answered[1].pk).update(team=personas.north)  # a team move
    SurveyResponse.objects.filter(pk=answered[2].pk).update(answered_at=START + dt.timedelta(days=40))  # another day
    SurveyResponse.objects.filter(pk=answered[3].pk).update(touchpoint="Kiosk")  # another key
    SurveyResponse.objects.filter(pk__in=[r.pk for r in answered[4:6]]).update(location="York")  # another location
    covering = b.case(personas.north, created=START, resp=answered[6])  # a case opened from an answer, and attached
    b.attach(covering, answered[7])  # and one attached: both covered, neither low
    SurveyResponse.objects.filter(pk__in=[r.pk for r in answered[8:10]]).update(comment="Late.", sentiment=-0.5)
    assert SurveyResponse.objects.filter(case_linked=True).count() == 2
    SurveyResponse.objects.filter(pk__in=[r.pk for r in answered[10:14]]).delete()
    customer_erase(customer_id=answered[20].customer_id)
    customer_merge(merged_id=answered[21].customer_id, target_id=answered[22].customer_id, by=personas.adam)
    assert totals(model, key) == direct(key, model)
    assert {k[-1] for k in totals(LocationTotal, LOCATION_KEY)} == {"Leeds", "York", "Hull", ""}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="segment bits: PostgreSQL")
def test_a_customers_segments_move_their_counts(personas, answered, django_capture_on_commit_callbacks):
    """The bits are a key: a segment saved (its bits built) and a customer who joins it later move
    their answers' counts to the new bit patterns."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        segment_save(Segment(name="Gold", conditions=[{"field": "tier", "operator": "equals", "value": "gold"}]))
    Customer.objects.filter(pk__in=[r.customer_id for r in answered[:5]]).update(tier="Gold")
    assert {r for r in SurveyResponse.objects.values_list("segment_bits", flat=True)} == {0, 1}
    assert totals() == direct()
    assert totals(SegmentRollup, SEGMENT_KEY) == direct(SEGMENT_KEY, SegmentRollup)
    assert {k[-1] for k in totals(SegmentRollup, SEGMENT_KEY)} == {0, 1}
    Customer.objects.filter(pk=answered[0].customer_id).update(tier="silver")
    assert totals() == direct()
    assert totals(SegmentRollup, SEGMENT_KEY) == direct(SEGMENT_KEY, SegmentRollup)


@pytest.mark.parametrize("level", ["scores", "locations"])  # the every-team levels (the segment rollup has teams)
def test_a_team_move_writes_no_delta(personas, answered, level):
    model = LEVELS[level][0]
    before = model.objects.count()
    SurveyResponse.objects.filter(pk__in=[r.pk for r in answered[:6]]).update(team=personas.south)
    assert model.objects.count() == before


@pytest.mark.parametrize("level", LEVELS)
def test_folding_and_rebuilding_keep_the_figures(answered, level):
    model, spec, key = LEVELS[level]
    SurveyResponse.objects.filter(pk__in=[r.pk for r in answered[:3]]).delete()
    expected = direct(key, model)
    assert spec.compact() == 33  # a delta per response written, one per response deleted
    assert not model.objects.filter(fresh=True).exists()
    keys = model.objects.values(*key)
    assert keys.count() == keys.distinct().count() == len(expected)  # one row per key, emptied keys dropped
    assert totals(model, key) == expected
    model.objects.all().delete()  # lost, or never built (rows loaded with the triggers off)
    written = spec.rebuild()
    assert written == model.objects.count() == len(expected)
    assert totals(model, key) == expected
    assert spec.rebuild() == written  # idempotent
    out = StringIO()
    call_command("rollups", "--rebuild", stdout=out)
    name = {"scores": "every-team score", "locations": "every-team location", "segments": "segment"}[level]
    assert f"Rebuilt the {name} rollup" in out.getvalue()
    assert totals(model, key) == expected

