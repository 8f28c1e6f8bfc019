"""The segment reports (the comparison, and the scores, KPI, recovery and root-cause breakdowns by
segment) read every row once and sum each segment's share of it (reporting.selectors.segments).
Here every figure they show is compared with a plain computation in Python over the same rows: who
is in a segment decided by the segment's compiled predicate (the one alert rules and routing
evaluate, not the SQL the reports run), the figures counted, averaged and medianed by hand.

The customers are chosen where the SQL could go wrong: a tier in another case, an attribute in
another case, a value as a JSON number or a string, an account's value (an EXISTS over contacts),
a segment of "is set" conditions (a negation, which a row without a customer must not pass), an
"any" segment, and answers and cases without a customer. Runs on PostgreSQL and on SQLite
(tests/sqlite_suite.py): the medians come from percentile_cont on one and from Python on the other;
on PostgreSQL once more with the segments' stored bits (reporting.segment_bits)."""

from __future__ import annotations

import datetime as dt
import random
import statistics
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import Case
from reporting.filters import ReportFilters
from reporting.models import CustomerLastAnswer, SegmentBit
from reporting.segment_bits import bit_of, segment_bits_sync
from reporting.selectors import (
    kpis_by_segment,
    recovery_by_segment,
    root_causes_by_segment,
    scores_by_segment,
    segment_comparison,
)
from reporting.selectors import segments as segment_reports
from reporting.selectors.common import cause_names
from reporting.selectors.scoring import half_up
from reporting.tables import one_decimal, pct
from segments.conditions import CustomerFacts, account_values_of
from segments.models import Segment
from segments.selectors import compiled
from segments.services import segment_save
from surveys.models import SurveyResponse
from tests.factories import AccountFactory, ContactFactory, CustomerFactory
from tests.reporting import builders as b

pytestmark = pytest.mark.django_db

SEGMENTS = [
    ("Gold", "all", [{"field": "tier", "operator": "equals", "value": "gold"}]),
    ("EMEA or big account", "any", [{"field": "region", "operator": "one_of", "value": ["EMEA", "Nordics"]},
                                    {"field": "account.value", "operator": "gte", "value": 50000}]),
    ("Has a segment and a tier", "all", [{"field": "segment", "operator": "is_set", "value": None},
                                         {"field": "tier", "operator": "is_set", "value": None}]),
    ("High score", "all", [{"field": "attributes.score", "operator": "gte", "value": 10}]),
    ("Premium SMB", "all", [{"field": "tier", "operator": "one_of", "value": ["Gold", "Platinum"]},
                            {"field": "segment", "operator": "equals", "value": "smb"}]),
]
# (tier, segment, attributes, own value, an account's value or None)
CUSTOMERS = [
    ("Gold", "SMB", {"region": "EMEA", "score": "12"}, 100, None),
    ("gold", "", {"region": "apac", "score": 9}, None, 60000),
    ("Silver", "Enterprise", {"region": "emea"}, 50000, 1000),
    ("", "SMB", {"region": "Nordics", "score": "x"}, None, None),
    ("Platinum", "smb", {"score": 10.5}, 20, None),
    ("", "", {}, None, None),
    ("Bronze", "Retail", {"region": "AMER", "score": "-3"}, 5, 50000),
    ("GOLD", "Enterprise", {"score": 11}, None, None),
]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(params=["conditions", "bits"])
def world(request, personas):
    """Eight customers, 70 answers over 100 days in North and South (some without a customer), and
    cases opened from a third of the answers: some open, most closed with one of three causes, and
    the customers' later answers linked as answered again. Twice: with the segments tested by their
    conditions, and with their bits built (reporting.segment_bits, PostgreSQL; the segment on
    accounts has none, so conditions and bits are read side by side)."""
    rng = random.Random(25)
    now = timezone.now()
    with transaction.atomic():
        for name, match, conditions in SEGMENTS:
            segment_save(Segment(name=name, match=match, conditions=conditions))
    customers = []
    for tier, segment, attributes, value, account_value in CUSTOMERS:
        customer = CustomerFactory(tier=tier, segment=segment, attributes=attributes,
                                   account_value=Decimal(value) if value is not None else None)
        if account_value is not None:
            ContactFactory(customer=customer, account=AccountFactory(value=Decimal(account_value)))
        customers.append(customer)
    causes = [b.cause("Late"), b.cause("Rude", "Staff"), b.cause("Broken", "Product")]
    answers = []
    for i in range(70):
        at = now - dt.timedelta(days=rng.randint(0, 99), hours=rng.randint(0, 23))
        answers.append(b.response(
            personas.north if i % 4 else personas.south, at=at, nps=rng.randint(0, 10),
            csat=rng.choice([None, 1, 2, 3, 4, 5]), ces=rng.choice([None, 2, 5, 7]), ces_high_is_easy=rng.choice([None, False]),
            who=None if i % 9 == 0 else rng.choice(customers), touchpoint=rng.choice(["Web", "Store"])))
    for resp in sorted(answers, key=lambda r: r.answered_at)[::3]:
        created = resp.answered_at + dt.timedelta(hours=1)
        closed = created + dt.timedelta(hours=rng.randint(1, 90)) if rng.random() < 0.7 else None
        if closed and closed > now:
            closed = None
        b.case(resp.team, created=created, resp=resp, contacted=created + dt.timedelta(hours=rng.randint(1, 8)),
               closed=closed, root_cause=rng.choice(causes) if closed else None)
    for resp in answers:  # what the answers' recording did for cases closed before them
        from cases.services import cases_link_answer

        cases_link_answer(response=resp)
    if request.param == "bits":
        if connection.vendor != "postgresql":
            pytest.skip("segment bits: PostgreSQL")
        segment_bits_sync()
        assert SegmentBit.objects.exclude(built=None).count() == len(SEGMENTS) - 1
    return personas


def _in(segment: Segment):
    """The members of a segment by its compiled predicate, over each customer's facts."""
    test = compiled(segment)
    members = set()
    from surveys.models import Customer

    for customer in Customer.objects.all():
        if test.matches(CustomerFacts.of(customer, account_values_of(customer.pk))):
            members.add(customer.pk)
    return lambda customer_id: customer_id in members


def _groups():
    return [("All customers", lambda customer_id: True)] + [
        (s.name, _in(s)) for s in Segment.objects.order_by("name", "id")]


def _ease(r: SurveyResponse) -> float:
    lo, hi = float(r.ces_scale_min or 1), float(r.ces_scale_max or 7)
    return (hi - float(r.ces) if r.ces_high_is_easy is False else float(r.ces) - lo) / (hi - lo)


def _scores(answers: list[SurveyResponse]) -> dict:
    nps = [r.nps for r in answers if r.nps is not None]
    promoters, detractors = sum(1 for n in nps if n >= 9), sum(1 for n in nps if n <= 6)
    csat = [r for r in answers if r.csat is not None]
    ces = [_ease(r) for r in answers if r.ces is not None]
    return {
        "responses": len(answers), "nps_n": len(nps), "promoters": promoters, "detractors": detractors,
        "nps": round(100.0 * (promoters - detractors) / len(nps), 1) if nps else None,
        "csat_n": len(csat), "csat_top2_pct": pct(sum(1 for r in csat if r.csat >= (r.csat_scale_max or 5) - 1), len(csat)),
        "ces_n": len(ces), "ces_avg": half_up(1 + 6 * sum(ces) / len(ces)) if ces else None,
    }


def _median_h(seconds: list) -> float | None:
    values = [s for s in seconds if s is not None]
    return one_decimal(statistics.median(values) / 3600.0) if values else None


def _expected(filters: ReportFilters) -> dict:
    """Per group (all customers, then the segments by name): the figures, computed by hand."""
    teams, start, now = filters.team_ids, filters.start, filters.now
    answers = [r for r in SurveyResponse.objects.all() if (teams is None or r.team_id in teams) and r.answered_at >= start]
    cases = [c for c in Case.objects.select_related("response") if teams is None or c.team_id in teams]
    opened = [c for c in cases if c.created_at >= start]
    closed = [c for c in cases if c.status == Case.Status.CLOSED and c.closed_at >= start]
    opening = {c.response_id for c in Case.objects.all()}
    expected = {}
    for label, member in _groups():
        mine = [r for r in answers if r.customer_id is not None and member(r.customer_id)] if label != "All customers" \
            else answers
        theirs = [c for c in opened if label == "All customers" or (c.customer_id is not None and member(c.customer_id))]
        done = [c for c in closed if label == "All customers" or (c.customer_id is not None and member(c.customer_id))]
        again = [c for c in done if c.customer_id is not None and c.answered_again_nps is not None
                 and c.response.nps is not None]
        detractors = [c for c in again if c.response.nps <= 6]
        low = [r for r in mine if (r.nps is not None and r.nps <= 6) or (r.csat is not None and r.csat <= 2)]
        res_met = sum(1 for c in theirs if c.status == Case.Status.CLOSED and c.closed_at <= c.resolution_due)
        res_missed = sum(1 for c in theirs if (c.status == Case.Status.CLOSED and c.closed_at > c.resolution_due)
                         or (c.status != Case.Status.CLOSED and c.resolution_due < now))
        recovered = sum(1 for c in detractors if c.answered_again_nps > 6)
        expected[label] = {
            **_scores(mine),
            "customers": len({r.customer_id for r in mine if r.customer_id is not None}),
            "case_rate_pct": pct(sum(1 for r in mine if r.pk in opening), len(mine)),
            "cases": len(theirs), "open": sum(1 for c in theirs if c.status != Case.Status.CLOSED),
            "close_median_h": _median_h([c.close_business_seconds for c in theirs]),
            "first_contact_median_h": _median_h([c.first_contact_business_seconds for c in theirs]),
            "resolution_sla_pct": pct(res_met, res_met + res_missed),
            "low_scores": len(low), "coverage_pct": pct(sum(1 for r in low if r.pk in opening), len(low)),
            "answered_again": len(again), "detractors_before": len(detractors), "recovered": recovered,
            "recovery_pct": pct(recovered, len(detractors)),
            "avg_change": one_decimal(sum(c.answered_again_nps - c.response.nps for c in again) / len(again))
            if again else None,
            "causes": {c.root_cause_id: sum(1 for d in done if d.root_cause_id == c.root_cause_id) for c in done},
        }
    return expected


def _pick(rows: list[dict], label_key: str, keys: tuple[str, ...]) -> dict:
    return {row[label_key]: {k: row[k] for k in keys} for row in rows}


def _filters(world, whose: str) -> ReportFilters:
    """The last 60 days of North's answers, of North's and South's, or (an admin's) of every team
    from a local midnight: what the every-team score totals can answer (reporting.score_totals)."""
    now = timezone.now()
    if whose == "every":
        start = timezone.localtime(now - dt.timedelta(days=60)).replace(hour=0, minute=0, second=0, microsecond=0)
        return ReportFilters(team_ids=None, start=start, now=now)
    teams = {world.north.pk} if whose == "north" else {world.north.pk, world.south.pk}
    return ReportFilters(team_ids=frozenset(teams), start=now - dt.timedelta(days=60), now=now)


@pytest.mark.parametrize("whose", ["north", "both", "every"])
def test_every_segment_figure_equals_a_direct_computation(world, whose, django_assert_num_queries):
    filters = _filters(world, whose)
    expected = _expected(filters)
    labels = list(expected)
    assert len(labels) == 1 + len(SEGMENTS)
    assert expected["Gold"]["responses"] > 0 and expected["Has a segment and a tier"]["cases"] > 0  # the data reach

    def want(keys):
        return {label: {k: expected[label][k] for k in keys} for label in labels}

    comparison = segment_comparison(filters)
    keys = ("customers", "responses", "nps_n", "nps", "csat_n", "csat_top2_pct", "ces_n", "ces_avg", "case_rate_pct",
            "cases", "close_median_h", "resolution_sla_pct", "answered_again", "recovery_pct")
    assert [r["segment"] for r in comparison.rows] == labels
    assert _pick(comparison.rows, "segment", keys) == want(keys)

    keys = ("responses", "nps_n", "promoters", "detractors", "nps", "csat_n", "csat_top2_pct", "ces_n", "ces_avg")
    assert _pick(scores_by_segment(filters).rows, "group", keys) == want(keys)

    keys = ("cases", "open", "low_scores", "coverage_pct", "first_contact_median_h", "close_median_h",
            "resolution_sla_pct")
    assert _pick(kpis_by_segment(filters).rows, "group", keys) == want(keys)

    keys = ("answered_again", "avg_change", "detractors_before", "recovered", "recovery_pct")
    assert _pick(recovery_by_segment(filters).rows, "group", keys) == want(keys)

    causes = root_causes_by_segment(filters)
    names = cause_names(expected["All customers"]["causes"])
    got = {row["root_cause"]: [row[f"g{i}"] for i in range(len(labels))] for row in causes.rows}
    assert got == {names[cause]: [expected[label]["causes"].get(cause, 0) for label in labels]
                   for cause in expected["All customers"]["causes"]}

    if whose == "every" and SegmentBit.objects.exists():
        # Every team's, each segment with its bit built (the one on accounts deleted): from the
        # every-team score totals (reporting.ScoreTotal, keyed by the bits), not the answers.
        Segment.objects.exclude(bit__isnull=False).delete()
        expected = _expected(filters)
        keys = ("responses", "nps_n", "promoters", "detractors", "nps", "csat_n", "csat_top2_pct", "ces_n", "ces_avg")
        with django_assert_num_queries(2) as queries:
            scores = scores_by_segment(filters)
        assert "reporting_scoretotal" in queries.captured_queries[1]["sql"]
        assert _pick(scores.rows, "group", keys) == {label: {k: expected[label][k] for k in keys} for label in expected}
        assert len(expected) == len(SEGMENTS)
        # The comparison's answers too, and its customers from each customer's latest answer
        # (reporting.last_answers, counted per day): no answer of the period is read.
        with CaptureQueriesContext(connection) as queries:
            comparison = segment_comparison(filters)
        read = " ".join(q["sql"] for q in queries.captured_queries)
        assert "reporting_lastanswerday" in read and "reporting_scoretotal" in read and "DISTINCT" not in read
        keys = ("customers", "responses", "nps_n", "nps", "csat_n", "csat_top2_pct", "ces_n", "ces_avg", "case_rate_pct")
        assert _pick(comparison.rows, "segment", keys) == {label: {k: expected[label][k] for k in keys}
                                                           for label in expected}
        # The KPIs' low scores and their coverage too (the cases and their durations are read).
        keys = ("cases", "open", "low_scores", "coverage_pct", "first_contact_median_h", "close_median_h",
                "resolution_sla_pct")
        with django_assert_num_queries(4) as queries:
            kpis = kpis_by_segment(filters)
        assert "reporting_scoretotal" in queries.captured_queries[3]["sql"]
        assert _pick(kpis.rows, "group", keys) == {label: {k: expected[label][k] for k in keys} for label in expected}
        assert all(expected[label]["low_scores"] for label in expected)  # the data reach


@pytest.mark.parametrize("later_at_most", [segment_reports.LATER_AT_MOST, 0])
@pytest.mark.parametrize("hours", [0, 7])
def test_every_teams_customers_of_a_past_period_count_those_who_answered_later_too(world, monkeypatch, later_at_most,
                                                                                   hours):
    """A period that ended 20 days ago: a customer who answered in it and again since counts (their
    latest answer is after the period: probed), one whose only answers are later does not. With
    more such customers than LATER_AT_MOST the answers are counted instead: the same figures. From
    local midnights (the counts per day), and from 7 a.m. (the answers)."""
    Segment.objects.exclude(bit__isnull=False).delete()  # the segment on accounts (all, without bits)
    now = timezone.now()
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight - dt.timedelta(days=60, hours=-hours)
    end = midnight - dt.timedelta(days=20, hours=-hours)
    answers = [r for r in SurveyResponse.objects.exclude(customer=None) if start <= r.answered_at < end]
    expected = {label: len({r.customer_id for r in answers if member(r.customer_id)}) for label, member in _groups()}
    assert expected["All customers"] > 0
    monkeypatch.setattr(segment_reports, "LATER_AT_MOST", later_at_most)
    with CaptureQueriesContext(connection) as queries:
        comparison = segment_comparison(ReportFilters(team_ids=None, start=start, end=end, now=now))
    assert {row["segment"]: row["customers"] for row in comparison.rows} == expected
    probed = any("reporting_customerlastanswer" in q["sql"] and "EXISTS" in q["sql"] for q in queries.captured_queries)
    if connection.vendor == "postgresql":
        # Both kinds are there: customers whose latest answer is in the period, and after it.
        assert CustomerLastAnswer.objects.filter(answered_at__gte=start, answered_at__lt=end).exists()
        assert CustomerLastAnswer.objects.filter(answered_at__gte=end).exists()
        # From 7 a.m. neither the score totals nor the day counts answer: the answers are read.
        assert probed == (bool(later_at_most) and not hours)
        per_day = any("reporting_lastanswerday" in q["sql"] for q in queries.captured_queries)
        assert per_day == (bool(later_at_most) and not hours)
    else:
        assert not probed  # SQLite: no latest answers, the answers are counted


@pytest.mark.parametrize("whose", ["north", "both", "every"])
def test_the_pages_filtered_to_a_segment_give_its_figures(world, whose):
    """`?segment=`: the filter's IN subquery (over the member index on PostgreSQL), the same
    figures as the breakdown's column, and as a computation by hand."""
    from dataclasses import replace

    from reporting.selectors import kpis, recovery_by_team, root_cause_pareto, scores_by, scores_trend

    filters = _filters(world, whose)
    expected = _expected(filters)
    # From a local midnight (what the rollups can answer; an admin's period starts at one already).
    whole_days = replace(filters, start=timezone.localtime(filters.start).replace(hour=0, minute=0, second=0,
                                                                                  microsecond=0))
    expected_whole_days = _expected(whole_days)
    for segment in Segment.objects.select_related("bit"):
        narrowed, want = replace(filters, segment=segment), expected[segment.name]
        names = cause_names(want["causes"])
        assert {r["root_cause"]: r["cases"] for r in root_cause_pareto(narrowed).rows} == {
            names[cause]: n for cause, n in want["causes"].items()}
        assert sum(r["responses"] for r in scores_by(narrowed, "team").rows) == want["responses"]
        # By touchpoint and by week: every team's from the score totals when the bit is built.
        by_touchpoint = scores_by(narrowed, "touchpoint").rows
        assert sum(r["responses"] for r in by_touchpoint) == want["responses"]
        assert sum(r["responses"] for r in scores_trend(narrowed).rows) == want["responses"]
        assert sum(r["nps_n"] for r in by_touchpoint) == want["nps_n"]
        if whose == "every" and bit_of(segment) is not None:
            with CaptureQueriesContext(connection) as queries:
                scores_by(narrowed, "touchpoint")
            assert "reporting_scoretotal" in queries.captured_queries[-1]["sql"]
        assert sum(r["cases"] for r in kpis(narrowed, "team").rows) == want["cases"]
        # By team, and a viewer's teams' by week, over whole days: from the segment rollup (per team
        # and bits) when the bit is built.
        whole, want_whole = replace(whole_days, segment=segment), expected_whole_days[segment.name]
        with CaptureQueriesContext(connection) as queries:
            by_team = kpis(whole, "team").rows
            assert sum(r["cases"] for r in by_team) == want_whole["cases"]
            assert sum(r["low_scores"] for r in by_team) == want_whole["low_scores"]
            assert sum(r["nps_n"] for r in scores_by(whole, "team").rows) == want_whole["nps_n"]
            weeks = kpis(whole, "week").rows
            assert sum(r["low_scores"] for r in weeks) == want_whole["low_scores"]
        rollup_read = [q["sql"] for q in queries.captured_queries if "reporting_segmentrollup" in q["sql"]]
        assert len(rollup_read) == (3 if bit_of(segment) is not None and (whose != "every") else
                                    2 if bit_of(segment) is not None else 0)  # every team's by week: the score totals
        # The KPIs' low scores by touchpoint: every team's from the score totals too when the bit is built.
        with CaptureQueriesContext(connection) as queries:
            by_touchpoint = kpis(narrowed, "touchpoint").rows
        assert sum(r["low_scores"] for r in by_touchpoint) == want["low_scores"]
        totals_read = any("reporting_scoretotal" in q["sql"] for q in queries.captured_queries)
        assert totals_read == (whose == "every" and bit_of(segment) is not None)
        assert sum(r["answered_again"] for r in recovery_by_team(narrowed).rows) == want["answered_again"]


@pytest.mark.parametrize("whose", ["north", "every"])
def test_the_themes_all_responses_row_narrowed_to_a_segment(world, whose):
    """The Themes page's "All responses" row (and its share of comments) narrowed to a segment:
    from the segment rollup when the bit is built (whole days), the same as by hand."""
    from dataclasses import replace

    from reporting.selectors.themes import _every_response

    ids = list(SurveyResponse.objects.order_by("pk").values_list("pk", flat=True))
    SurveyResponse.objects.filter(pk__in=ids[::3]).update(comment="Slow delivery.", sentiment=-0.4)
    SurveyResponse.objects.filter(pk__in=ids[1::4]).update(comment="Lovely staff.", sentiment=0.7)
    filters = _filters(world, whose)
    whole = replace(filters, start=timezone.localtime(filters.start).replace(hour=0, minute=0, second=0, microsecond=0))
    members = dict(_groups())
    for segment in Segment.objects.select_related("bit"):
        mine = [r for r in SurveyResponse.objects.exclude(customer=None) if members[segment.name](r.customer_id)
                and r.answered_at >= whole.start and (whole.team_ids is None or r.team_id in whole.team_ids)]
        sentiments = [r.sentiment for r in mine if r.sentiment is not None]
        assert mine and sentiments  # the data reach
        with CaptureQueriesContext(connection) as queries:
            every = _every_response(replace(whole, segment=segment))
        assert (every["responses"], every["commented"], every["nps_n"]) == (
            len(mine), sum(1 for r in mine if r.comment), sum(1 for r in mine if r.nps is not None))
        assert every["sentiment"] == pytest.approx(sum(sentiments) / len(sentiments))
        read = any("reporting_segmentrollup" in q["sql"] for q in queries.captured_queries)
        assert read == (bit_of(segment) is not None)


@pytest.mark.parametrize("whose", ["north", "every"])
def test_the_themes_tags_narrowed_to_a_segment(world, whose):
    """The Themes page's tag tables narrowed to a segment: an admin's (every team, whole days) from
    the theme totals (reporting.ThemeTotal, keyed by the bits) when the bit is built, a manager's
    from the tags joined to their responses: per theme, the tags and their NPS answers by hand."""
    from dataclasses import replace

    from reporting.selectors import themes_scores
    from reporting.selectors.themes import _theme_cells
    from surveys.models import ResponseTheme, Theme

    themes = [Theme.objects.create(name=f"Theme {n}", slug=f"theme-{n}", keywords=[f"w{n}"]) for n in range(3)]
    for i, r in enumerate(SurveyResponse.objects.order_by("pk")):
        for theme in themes[:i % 3]:  # none, one or two themes each
            ResponseTheme.objects.create(response=r, theme=theme, answered_at=r.answered_at, matches=[])
    filters = _filters(world, whose)
    whole = replace(filters, start=timezone.localtime(filters.start).replace(hour=0, minute=0, second=0, microsecond=0))
    members = dict(_groups())
    for segment in Segment.objects.select_related("bit"):
        expected: dict[str, list[int]] = {}
        for tag in ResponseTheme.objects.select_related("response", "theme"):
            r = tag.response
            if (r.customer_id is not None and members[segment.name](r.customer_id) and r.answered_at >= whole.start
                    and (whole.team_ids is None or r.team_id in whole.team_ids)):
                counts = expected.setdefault(tag.theme.name, [0, 0])
                counts[0] += 1
                counts[1] += r.nps is not None
        assert expected  # the data reach
        _theme_cells.cache_clear()
        with CaptureQueriesContext(connection) as queries:
            rows = themes_scores(replace(whole, segment=segment)).rows
        assert {row["theme"]: [row["responses"], row["nps_n"]] for row in rows if row["theme"] != "All responses"} \
            == expected
        read = any("reporting_themetotal" in q["sql"] for q in queries.captured_queries)
        assert read == (bit_of(segment) is not None and whose == "every")


@pytest.mark.parametrize("whose", ["north", "every"])
def test_the_root_causes_narrowed_to_a_segment_from_the_closure_totals(world, whose, monkeypatch):
    """The root-causes panels narrowed to a segment: an admin's (every team, whole days) from the
    closure totals (reporting.ClosureTotal, keyed by the bits) when the bit is built; every figure
    (cases, preventions, the scores' sums) what the closed cases themselves give."""
    from dataclasses import replace

    from reporting import selectors
    from reporting.selectors import root_causes

    panels = ("root_cause_pareto", "root_cause_weekly", "root_cause_by_touchpoint", "root_cause_scores")

    def read(filters):
        for kept in (root_causes._closure_cells, root_causes._rolled_causes, root_causes._by_cause):
            kept.cache_clear()
        with CaptureQueriesContext(connection) as queries:
            tables = {name: getattr(selectors, name)(filters).rows for name in panels}
        return tables, any("reporting_closuretotal" in q["sql"] for q in queries.captured_queries)

    filters = _filters(world, whose)
    reached = 0
    for segment in Segment.objects.select_related("bit"):
        narrowed = replace(filters, segment=segment)
        served, totals_read = read(narrowed)
        assert totals_read == (whose == "every" and bit_of(segment) is not None)
        with monkeypatch.context() as m:
            m.setattr(root_causes, "segment_totals", lambda filters, queryset: None)
            direct, totals_read = read(narrowed)
        assert not totals_read
        assert served == direct
        reached += bool(served["root_cause_pareto"] and served["root_cause_scores"])
    assert reached >= 2  # the data reach


def test_the_reports_read_the_rows_once_whatever_the_segments(world, django_assert_num_queries):
    """One query for the segments, one per kind of row, one for the medians (PostgreSQL: the
    SQLite run reads the durations instead, also one): the count does not grow with segments."""
    now = timezone.now()
    filters = ReportFilters(team_ids=frozenset({world.north.pk}), start=now - dt.timedelta(days=60), now=now)
    # segments, responses, cases opened, their medians, cases answered again
    with django_assert_num_queries(5) as queries:
        segment_comparison(filters)
    # With the bits built the passes read them and test only the segment on accounts by conditions.
    rows_sql = [q["sql"] for q in queries.captured_queries[1:]]
    assert all(("segment_bits" in sql) == SegmentBit.objects.exists() for sql in rows_sql)
    assert all(sql.count("surveys_customer") > 0 for sql in rows_sql)  # the segment on accounts
    with django_assert_num_queries(2):
        scores_by_segment(filters)
    with django_assert_num_queries(4):  # segments, cases opened, their durations, low scores
        kpis_by_segment(filters)
    with django_assert_num_queries(2):
        recovery_by_segment(filters)
    with django_assert_num_queries(3):  # segments, closed cases by cause, the causes' names
        root_causes_by_segment(filters)
