"""Outer-loop alerts: a week out of its control limits opens one alert per episode and tells its owner."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.models import Case, Notification
from cases.tasks import notifications_dispatch_task
from improvement import services
from improvement.models import OuterLoopAlert
from improvement.outer_loop import last_complete_week, outer_loop_scan
from tests.factories import CaseFactory, RootCauseFactory, SurveyResponseFactory, api_key_for

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 17)  # a Wednesday: the week judged starts Monday 8 June
JUDGED = dt.date(2026, 6, 8)


def noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def closed_cases(cause, day: dt.date, count: int):
    for _ in range(count):
        CaseFactory(root_cause=cause, status=Case.Status.CLOSED, closed_at=noon(day), created_at=noon(day) - dt.timedelta(days=1),
                    outcome=Case.Outcome.RESOLVED, resolution="Fixed.")


def test_the_judged_week_is_the_last_whole_one():
    assert last_complete_week(TODAY) == JUDGED
    assert last_complete_week(dt.date(2026, 6, 15)) == JUDGED  # on the Monday after it


def test_a_root_cause_surging_opens_one_alert_for_its_owner_and_closes_when_back(personas, client, mailoutbox):
    cause = RootCauseFactory(name="Late")
    for week in range(1, 13):
        closed_cases(cause, JUDGED - dt.timedelta(weeks=week) + dt.timedelta(days=2), 4)
    closed_cases(cause, JUDGED + dt.timedelta(days=1), 12)
    result = outer_loop_scan(today=TODAY)
    assert result == {"week": "2026-06-08", "opened": 1, "continued": 0, "closed": 0}
    alert = OuterLoopAlert.objects.get()
    assert (alert.kind, alert.key, alert.metric, alert.opened_week) == ("root_cause", str(cause.pk), "volume", JUDGED)
    # Centre 4 a week; upper limit 4 + 3·√4 = 10; 12 is above it.
    assert (alert.evidence["value"], alert.evidence["centre"], alert.evidence["upper"]) == (12, 4.0, 10.0)
    assert alert.summary == f"{cause.category.name} › Late: 12 in the week of 2026-06-08, above its normal range (up to 10.0)."
    # No open plan targets it: every CX admin (adam) hears, in the app and by e-mail.
    told = Notification.objects.filter(kind="outer_loop")
    assert sorted((n.recipient.username, n.channel) for n in told) == [("adam", "email"), ("adam", "in_app")]
    client.force_login(personas.adam)
    centre = client.get("/cases/notifications/").content.decode()
    assert f"{cause.category.name} › Late: 12 in the week of 2026-06-08" in centre
    assert f"/plans/alerts/#alert-{alert.pk}" in centre
    notifications_dispatch_task()  # the outbox's delivery, which runs after the scan's commit
    assert [m.subject for m in mailoutbox] == [f"[Closeloop] {cause.category.name} › Late: 12 in the week of 2026-06-08, "
                                               "above its normal range (up to 10.0)."]
    # The same week scanned again changes nothing and tells nobody twice.
    assert outer_loop_scan(today=TODAY)["opened"] == 0
    assert told.count() == 2
    # The week after, back to 4: the episode closes.
    closed_cases(cause, JUDGED + dt.timedelta(days=8), 4)
    assert outer_loop_scan(today=TODAY + dt.timedelta(days=7))["closed"] == 1
    alert.refresh_from_db()
    assert alert.closed_week == JUDGED + dt.timedelta(days=7)


def test_a_handful_is_never_an_alarm(personas):
    cause = RootCauseFactory(name="Rare")
    closed_cases(cause, JUDGED + dt.timedelta(days=1), 4)  # nothing before, 4 now: above 0, under 5
    assert outer_loop_scan(today=TODAY)["opened"] == 0


def test_a_touchpoints_detractor_share_goes_to_the_owner_of_the_plan_on_it(personas):
    services.plan_create(by=personas.mia, data=services.PlanInput(
        title="Returns desk", owner_id=personas.bob.pk, due_date=TODAY + dt.timedelta(days=30), touchpoints=("returns",)))
    n = 0
    for week in range(1, 13):
        day = JUDGED - dt.timedelta(weeks=week) + dt.timedelta(days=1)
        for i in range(30):  # 20% detractors
            n += 1
            SurveyResponseFactory(touchpoint="returns", nps=3 if i < 6 else 9, answered_at=noon(day), external_id=f"r{n}")
    for i in range(30):  # 50% detractors
        n += 1
        SurveyResponseFactory(touchpoint="returns", nps=3 if i < 15 else 9, answered_at=noon(JUDGED), external_id=f"r{n}")
    outer_loop_scan(today=TODAY)
    alert = OuterLoopAlert.objects.get()
    assert (alert.kind, alert.metric, alert.owner) == ("touchpoint", "detractor_share", personas.bob)
    # p̄ 0.2; upper 0.2 + 3·√(0.2·0.8/30) = 0.4191.
    assert (alert.evidence["value"], alert.evidence["centre"], alert.evidence["upper"]) == (0.5, 0.2, 0.4191)
    assert [n.recipient for n in Notification.objects.filter(kind="outer_loop", channel="in_app")] == [personas.bob]


def test_the_page_and_the_api(client, api_client, personas):
    OuterLoopAlert.objects.create(kind="theme", key="7", label="Late delivery", metric="volume", opened_week=JUDGED,
                                  last_week=JUDGED,
                                  evidence={"series": [["2026-06-08", 30, 30]], "week": "2026-06-08", "value": 30,
                                            "n": 30, "centre": 10, "upper": 19.5})
    client.force_login(personas.mia)
    page = client.get("/plans/alerts/").content.decode()
    assert "Late delivery: 30 in the week of 2026-06-08, above its normal range (up to 19.5)." in page
    # Worded in the reader's language, from the stored figures.
    page_es = client.get("/plans/alerts/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Late delivery: 30 in the week of 2026-06-08" not in page_es
    assert "/plans/new/?title=Late+delivery&amp;theme=7" in page
    client.force_login(personas.alice)
    assert client.get("/plans/alerts/").status_code == 404
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(personas.mia)}")
    body = api_client.get("/api/v1/outer-loop-alerts/", {"ongoing": "true"}).json()
    assert [a["label"] for a in body["results"]] == ["Late delivery"]
    assert api_client.get("/api/v1/outer-loop-alerts/", {"ongoing": "maybe"}).status_code == 400
