"""Segments in reports: the filter every report obeys, the breakdowns (scores, KPIs, root causes,
recovery) and the segment comparison page, CSV and API, with figures worked out by hand."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import transaction
from django.utils import timezone

from segments.models import Segment
from segments.services import segment_save
from tests.factories import CustomerFactory
from tests.reporting import builders as b

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(personas):
    """Gold: gina (EMEA) and gus (APAC); EMEA: gina and sam (silver); nia has no tier or region.
    gina answered 2, got a case closed 8 days ago and answered 9 since; sam answered 3 (case open);
    gus 10, nia 9."""
    now = timezone.now()
    with transaction.atomic():
        segment_save(Segment(name="Gold", conditions=[{"field": "tier", "operator": "equals", "value": "gold"}]))
        segment_save(Segment(name="EMEA", conditions=[{"field": "region", "operator": "equals", "value": "EMEA"}]))
    gina = CustomerFactory(name="gina", tier="Gold", attributes={"region": "EMEA"})
    gus = CustomerFactory(name="gus", tier="gold", attributes={"region": "APAC"})
    sam = CustomerFactory(name="sam", tier="Silver", attributes={"region": "emea"})
    nia = CustomerFactory(name="nia")
    north = personas.north
    low = b.response(north, at=now - dt.timedelta(days=10), nps=2, who=gina, touchpoint="Web")
    b.case(north, created=now - dt.timedelta(days=10), resp=low, contacted=now - dt.timedelta(days=9),
           closed=now - dt.timedelta(days=8), root_cause=b.cause("Late"))
    b.response(north, at=now - dt.timedelta(days=2), nps=9, who=gina, touchpoint="Web")
    b.response(north, at=now - dt.timedelta(days=5), nps=10, who=gus, touchpoint="Store")
    sams = b.response(north, at=now - dt.timedelta(days=4), nps=3, who=sam, touchpoint="Store")
    b.case(north, created=now - dt.timedelta(days=4), resp=sams)
    b.response(north, at=now - dt.timedelta(days=3), nps=9, who=nia, touchpoint="Store")
    return personas


def _rows(answer) -> list[dict]:
    body = answer.json()
    return body["rows"]


def test_the_comparison_puts_segments_side_by_side(api_client, world):
    api_client.force_authenticate(world.mia)
    answer = api_client.get("/api/v1/reports/segments/")
    assert answer.status_code == 200
    picked = [{k: r[k] for k in ("segment", "customers", "responses", "nps_n", "nps", "case_rate_pct", "cases",
                                 "answered_again", "recovery_pct")} for r in _rows(answer)]
    assert picked == [
        {"segment": "All customers", "customers": 4, "responses": 5, "nps_n": 5, "nps": 20.0, "case_rate_pct": 40.0,
         "cases": 2, "answered_again": 1, "recovery_pct": 100.0},
        {"segment": "EMEA", "customers": 2, "responses": 3, "nps_n": 3, "nps": -33.3, "case_rate_pct": 66.7,
         "cases": 2, "answered_again": 1, "recovery_pct": 100.0},
        {"segment": "Gold", "customers": 2, "responses": 3, "nps_n": 3, "nps": 33.3, "case_rate_pct": 33.3,
         "cases": 1, "answered_again": 1, "recovery_pct": 100.0},
    ]


def test_the_comparison_page_and_its_csv(client, world):
    client.force_login(world.mia)
    page = client.get("/reports/segments/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Segment comparison" in html and 'data-report="segments"' in html
    assert "segment=gold" in html  # the drill-down links carry the segment into the inbox
    exported = list(csv.reader(io.StringIO(client.get("/reports/export/segments.csv").content.decode())))
    assert exported[0][:4] == ["Segment", "Customers", "Responses", "NPS n"]
    assert [row[:3] for row in exported[1:]] == [["All customers", "4", "5"], ["EMEA", "2", "3"], ["Gold", "2", "3"]]


def test_every_report_obeys_the_segment_filter(api_client, world):
    api_client.force_authenticate(world.mia)
    scores = api_client.get("/api/v1/reports/scores-by-touchpoint/", {"segment": "gold"})
    assert scores.json()["filters"]["segment"] == "gold"
    assert sorted((r["group"], r["responses"]) for r in _rows(scores)) == [("Store", 1), ("Web", 2)]
    kpis = api_client.get("/api/v1/reports/kpis-by-team/", {"segment": "emea"})
    assert [(r["group"], r["cases"]) for r in _rows(kpis)] == [("North", 2)]
    pareto = api_client.get("/api/v1/reports/root-causes-pareto/", {"segment": "emea"})
    assert [(r["root_cause"], r["cases"]) for r in _rows(pareto)] == [("T Delivery > Late", 1)]
    recovery = api_client.get("/api/v1/reports/recovery-by-team/", {"segment": "gold"})
    assert [(r["group"], r["answered_again"]) for r in _rows(recovery)] == [("North", 1)]
    unknown = api_client.get("/api/v1/reports/scores-by-touchpoint/", {"segment": "platinum"})
    assert unknown.status_code == 400
    assert unknown.json()["segment"] == [
        {"code": "invalid_choice", "message": "No segment with that slug (see /api/v1/segments/)."}]


def test_the_breakdowns_by_segment(api_client, client, world):
    api_client.force_authenticate(world.mia)
    scores = _rows(api_client.get("/api/v1/reports/scores-by-segment/"))
    assert [(r["group"], r["responses"], r["nps"]) for r in scores] == [
        ("All customers", 5, 20.0), ("EMEA", 3, -33.3), ("Gold", 3, 33.3)]
    kpis = _rows(api_client.get("/api/v1/reports/kpis-by-segment/"))
    assert [(r["group"], r["cases"], r["open"]) for r in kpis] == [("All customers", 2, 1), ("EMEA", 2, 1), ("Gold", 1, 0)]
    causes = api_client.get("/api/v1/reports/root-causes-by-segment/").json()
    assert [c["label"] for c in causes["columns"]] == ["Root cause", "All customers", "EMEA", "Gold"]
    assert causes["rows"] == [{"root_cause": "T Delivery > Late", "g0": 1, "g1": 1, "g2": 1}]
    recovery = _rows(api_client.get("/api/v1/reports/recovery-by-segment/"))
    assert [(r["group"], r["answered_again"], r["recovered"]) for r in recovery] == [
        ("All customers", 1, 1), ("EMEA", 1, 1), ("Gold", 1, 1)]

    client.force_login(world.mia)
    assert 'data-report="scores-by-segment"' in client.get("/reports/scores/", {"by": "segment"}).content.decode()
    assert 'data-report="kpis-by-segment"' in client.get("/reports/kpis/", {"by": "segment"}).content.decode()
    # Root causes and Recovery offer the breakdown (it counts every segment's members) and build it when asked.
    for page, report in (("/reports/root-causes/", "root-causes-by-segment"), ("/reports/recovery/", "recovery-by-segment")):
        plain = client.get(page, {"team": world.north.pk}).content.decode()
        assert f'data-report="{report}"' not in plain
        assert f'href="?team={world.north.pk}&amp;by=segment">Break down by customer segment</a>' in plain
        asked = client.get(page, {"team": world.north.pk, "by": "segment"}).content.decode()
        assert f'data-report="{report}"' in asked
        assert f'href="?team={world.north.pk}">Hide the breakdown by customer segment</a>' in asked


# 9 for the page (session, user, two-factor checks, the manager's teams, the bell, the filter bar's
# teams, surveys and segments) and 5 for the comparison (the segments, then one pass each over the
# responses, the cases opened, their median to close and the cases answered again), whatever the
# number of segments (reporting.selectors.segments) and of rows.
SEGMENT_PAGE_QUERIES = 9 + 5


@pytest.mark.parametrize("extra_responses", [0, 40])
def test_the_comparison_page_query_count_does_not_grow_with_the_data(
        client, world, extra_responses, django_assert_num_queries):
    now = timezone.now()
    for i in range(extra_responses):
        b.response(world.north, at=now - dt.timedelta(days=1), nps=i % 11,
                   who=CustomerFactory(tier="gold" if i % 2 else "", attributes={"region": "EMEA"}))
    if extra_responses:  # a third segment costs no query
        with transaction.atomic():
            segment_save(Segment(name="Silver", conditions=[{"field": "tier", "operator": "equals", "value": "silver"}]))
    client.force_login(world.mia)
    with django_assert_num_queries(SEGMENT_PAGE_QUERIES):
        page = client.get("/reports/segments/")
    assert page.status_code == 200


def test_a_churn_risk_segment_is_compared_and_filters_reports(api_client, world):
    """Churn risk (docs/churn-risk.md) as a segment: sam (0.8) and gina (0.5) are at high risk,
    gus (0.1) is not, nia is not scored."""
    from surveys.models import Customer

    for name, risk in (("sam", 0.8), ("gina", 0.5), ("gus", 0.1)):
        Customer.objects.filter(name=name).update(churn_risk=risk)
    with transaction.atomic():
        segment_save(Segment(name="High churn risk",
                             conditions=[{"field": "churn_risk", "operator": "gte", "value": 0.5}]))
    api_client.force_authenticate(world.mia)
    rows = {r["segment"]: (r["customers"], r["responses"], r["cases"])
            for r in _rows(api_client.get("/api/v1/reports/segments/"))}
    assert rows["High churn risk"] == (2, 3, 2)
    scores = api_client.get("/api/v1/reports/scores-by-touchpoint/", {"segment": "high-churn-risk"})
    assert sorted((r["group"], r["responses"]) for r in _rows(scores)) == [("Store", 1), ("Web", 2)]
