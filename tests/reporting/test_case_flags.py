"""The responses' case flags (SurveyResponse.case_alert, .case_linked), kept by reporting.coverage's
database triggers: the KPI page counts low scores and their coverage from them, so each must be
what the alerts, cases and case links say, whatever writes them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q

from alerts.models import Alert, AlertRule
from cases.models import Case, CaseResponse
from reporting import coverage, selectors
from surveys.models import SurveyResponse
from tests.reporting import builders as b
from tests.reporting.test_kpis import MON, only_row, scope

pytestmark = pytest.mark.django_db


def flags(resp: SurveyResponse) -> tuple[bool, bool]:
    resp.refresh_from_db(fields=["case_alert", "case_linked"])
    return resp.case_alert, resp.case_linked


def direct() -> dict[int, tuple[bool, bool]]:
    """Every response's flags as the rows say (the definitions the flags stand for)."""
    alert = Alert.objects.filter(response_id=OuterRef("pk"), action=AlertRule.Action.OPEN_CASE)
    linked = Q(Exists(Case.objects.filter(response_id=OuterRef("pk")))) | Q(
        Exists(CaseResponse.objects.filter(response_id=OuterRef("pk"))))
    return {pk: (a, bool(l)) for pk, a, l in SurveyResponse.objects.annotate(
        a=Exists(alert), l=linked).values_list("pk", "a", "l")}


def stored() -> dict[int, tuple[bool, bool]]:
    return {pk: (a, l) for pk, a, l in SurveyResponse.objects.values_list("pk", "case_alert", "case_linked")}


def test_an_open_case_alert_flags_its_response_until_it_goes(personas):
    north = personas.north
    resp = b.response(north, at=MON, nps=9)
    assert flags(resp) == (False, False)
    notify = AlertRule.objects.create(name="Tell the manager", threshold=Decimal("6"), action=AlertRule.Action.NOTIFY)
    Alert.objects.create(rule=notify, response=resp, action=AlertRule.Action.NOTIFY)
    assert flags(resp) == (False, False)  # a notify alert opens no case
    alert = b.open_case_alert(resp)
    assert flags(resp) == (True, False)
    Alert.objects.filter(pk=alert.pk).update(action=AlertRule.Action.PRAISE)
    assert flags(resp) == (False, False)
    Alert.objects.filter(pk=alert.pk).update(action=AlertRule.Action.OPEN_CASE)
    assert flags(resp) == (True, False)
    alert.delete()
    assert flags(resp) == (False, False)


def test_a_case_or_a_link_covers_a_response_until_both_go(personas):
    north = personas.north
    opened = b.response(north, at=MON, nps=2)
    case = b.case(north, created=MON, resp=opened)
    assert flags(opened) == (False, True)
    attached = b.response(north, at=MON, csat=1)
    link = b.attach(case, attached)
    assert flags(attached) == (False, True)
    link.delete()
    assert flags(attached) == (False, False)
    other = b.response(north, at=MON, nps=1)
    Case.objects.filter(pk=case.pk).update(response=other)  # the opening response corrected
    assert (flags(opened), flags(other)) == ((False, False), (False, True))
    b.attach(case, other)
    Case.objects.filter(pk=case.pk).delete()  # its links go with it
    assert flags(other) == (False, False)
    assert stored() == direct()


def test_a_response_written_after_the_alert_naming_it_is_flagged(personas):
    """A batch writes its rows table by table (core.unit_of_work): an alert may reach the database
    before the response it names (the foreign key is checked at commit)."""
    north = personas.north
    rule = AlertRule.objects.create(name="Low", threshold=Decimal("6"), action=AlertRule.Action.OPEN_CASE)
    template = b.response(north, at=MON, nps=3)
    pk = template.pk + 1000
    with transaction.atomic():
        Alert.objects.create(rule=rule, response_id=pk, action=AlertRule.Action.OPEN_CASE)
        template.pk, template.external_id = pk, "later"
        template.save(force_insert=True)
    assert flags(SurveyResponse.objects.get(pk=pk)) == (True, False)


def test_rebuild_sets_every_flag_from_the_rows(personas):
    north = personas.north
    b.case(north, created=MON, resp=b.response(north, at=MON, nps=2))
    b.open_case_alert(b.response(north, at=MON, nps=8))
    b.attach(b.case(north, created=MON), b.response(north, at=MON, csat=2))
    plain = b.response(north, at=MON, nps=10)
    expected = direct()
    with connection.cursor() as cursor:  # flags gone wrong (a bulk load with triggers off): all swapped
        cursor.execute("UPDATE surveys_surveyresponse SET case_alert = NOT case_alert, case_linked = NOT case_linked")
    assert stored() != expected
    assert coverage.rebuild() == 2 * len(expected)
    assert stored() == expected
    assert flags(plain) == (False, False)
    assert coverage.rebuild() == 0  # nothing left to change


def test_kpi_coverage_is_what_the_rows_give(personas):
    north = personas.north
    at = MON.replace(hour=10)
    b.case(north, created=at, resp=b.response(north, at=at, nps=3))
    b.response(north, at=at, nps=5)
    b.attach(b.case(north, created=at), b.response(north, at=at, csat=1))
    b.open_case_alert(b.response(north, at=at, nps=9))
    b.response(north, at=at, nps=8)
    low = Q(nps__lte=6) | Q(csat__lte=2) | Q(Exists(Alert.objects.filter(
        response_id=OuterRef("pk"), action=AlertRule.Action.OPEN_CASE)))
    rows = direct()
    lows = list(SurveyResponse.objects.filter(team=north).filter(low).values_list("pk", flat=True))
    covered = sum(rows[pk][1] for pk in lows)
    row = only_row(selectors.kpis(scope(north), "team"))
    assert (row["low_scores"], row["coverage_pct"]) == (len(lows), round(100 * covered / len(lows), 1))
    assert (row["low_scores"], row["coverage_pct"]) == (5, 60.0)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statement triggers")
def test_a_write_that_cannot_change_a_flag_writes_no_response(personas):
    """A case action that keeps its response, a response inserted with nothing naming it, an alert
    that opens no case: the flags' triggers write nothing, so the statement triggers on responses
    (the rollups') do not fire for them (they did, for every case action and every answer)."""
    north = personas.north
    resp = b.response(north, at=MON, nps=2)
    case = b.case(north, created=MON, resp=resp)
    other = b.case(north, created=MON, resp=b.response(north, at=MON, nps=1))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL track_functions = 'pl'")

        def fired() -> int:
            cursor.execute("SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions "
                           "WHERE funcname = 'reporting_scoretotal_apply'")
            return cursor.fetchone()[0]

        before = fired()
        Case.objects.filter(pk=case.pk).update(priority="high")
        b.response(north, at=MON, nps=9)  # its insert fires the totals once, and nothing more
        notify = AlertRule.objects.create(name="Tell", threshold=Decimal("6"), action=AlertRule.Action.NOTIFY)
        Alert.objects.create(rule=notify, response=resp, action=AlertRule.Action.NOTIFY)
        # Two cases swap their responses: the same responses are named, no flag changes.
        Case.objects.filter(pk__in=[case.pk, other.pk]).update(
            response_id=Case.objects.filter(pk__in=[case.pk, other.pk]).exclude(pk=OuterRef("pk")).values("response_id")[:1])
        assert fired() - before == 1
    assert stored() == direct()
