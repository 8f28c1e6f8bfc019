"""Action plans: who may write them, the before-and-after, overdue plans on the dashboard, API and CSV."""

import datetime as dt

import pytest
import yaml
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.utils import timezone, translation

from improvement import selectors, services
from cases.models import Case
from improvement.models import ActionPlan
from tests.factories import (
    CaseFactory, RootCauseFactory, SurveyResponseFactory, ThemeFactory, ResponseThemeFactory, api_key_for,
)

pytestmark = pytest.mark.django_db


def plan_input(owner, **extra):
    return services.PlanInput(title=extra.pop("title", "Fix late deliveries"), owner_id=owner.pk,
                              due_date=extra.pop("due_date", dt.date(2026, 5, 1)), **extra)


def test_a_manager_creates_a_plan_and_the_owner_sees_it(personas):
    cause = RootCauseFactory()
    plan = services.plan_create(by=personas.mia, data=plan_input(
        personas.alice, team_id=personas.north.pk, root_cause_ids=(cause.pk,), touchpoints=(" delivery ", "delivery")))
    assert list(plan.root_causes.all()) == [cause]
    assert plan.touchpoints == ["delivery"]
    assert [n.shown for n in plan.notes.all()] == ["Plan created, owner alice, due 2026-05-01."]
    assert list(selectors.plans_for_user(personas.alice)) == [plan]
    assert list(selectors.plans_for_user(personas.charlie)) == []
    assert list(selectors.plans_for_user(personas.adam)) == [plan]


def test_agents_do_not_create_plans_and_bad_input_names_the_field(personas):
    with pytest.raises(PermissionDenied):
        services.plan_create(by=personas.alice, data=plan_input(personas.alice))
    with pytest.raises(ValidationError) as error:
        services.plan_create(by=personas.mia, data=plan_input(personas.alice, title="  ", team_id=personas.south.pk,
                                                                root_cause_ids=(999999,)))
    assert set(error.value.message_dict) == {"title", "team", "root_causes"}


def test_an_update_records_what_changed(personas):
    plan = services.plan_create(by=personas.mia, data=plan_input(personas.alice))
    services.plan_update(plan_id=plan.pk, by=personas.alice, data=plan_input(
        personas.alice, status=ActionPlan.Status.DONE, change_date=dt.date(2026, 4, 20)))
    plan.refresh_from_db()
    assert plan.status == "done" and plan.done_at is not None
    assert plan.notes.first().shown == "Changed: status Planned → Done; change live on 2026-04-20."
    # Stored as codes, worded when read: a Spanish reader reads Spanish whoever wrote it.
    assert plan.notes.first().data["changes"][0] == {"what": "status", "old": "planned", "new": "done"}
    with translation.override("es"):
        assert "Changed" not in plan.notes.first().shown


def test_before_and_after_compare_the_same_days_either_side_of_the_change(personas):
    north = personas.north
    cause = RootCauseFactory()
    theme = ThemeFactory(name="late")
    pivot = dt.date(2026, 3, 1)
    at = lambda day: timezone.make_aware(dt.datetime.combine(day, dt.time(12)))  # noqa: E731
    # Before: 4 answers at "delivery", NPS 2, 3, 9, 10 -> 2 promoters, 2 detractors: NPS 0.
    for i, score in enumerate((2, 3, 9, 10)):
        SurveyResponseFactory(team=north, touchpoint="delivery", nps=score, answered_at=at(pivot - dt.timedelta(days=10 + i)),
                              external_id=f"b{i}")
    # After: 2 answers, 9 and 10 (NPS 100), one tagged with the theme elsewhere (score 1: detractor).
    SurveyResponseFactory(team=north, touchpoint="delivery", nps=9, answered_at=at(pivot + dt.timedelta(days=3)), external_id="a1")
    SurveyResponseFactory(team=north, touchpoint="delivery", nps=10, answered_at=at(pivot + dt.timedelta(days=4)), external_id="a2")
    tagged = SurveyResponseFactory(team=north, touchpoint="returns", nps=1, answered_at=at(pivot + dt.timedelta(days=5)),
                                   external_id="a3")
    ResponseThemeFactory(response=tagged, theme=theme, answered_at=tagged.answered_at)
    # Untargeted answers do not count.
    SurveyResponseFactory(team=north, touchpoint="billing", nps=0, answered_at=at(pivot + dt.timedelta(days=5)), external_id="x")
    # Cases with the cause: 4 before (8 weeks), 1 after.
    for i in range(4):
        CaseFactory(team=north, root_cause=cause, created_at=at(pivot - dt.timedelta(days=5 + i)))
    CaseFactory(team=north, root_cause=cause, created_at=at(pivot + dt.timedelta(days=1)))
    plan = services.plan_create(by=personas.mia, data=plan_input(
        personas.mia, due_date=pivot, root_cause_ids=(cause.pk,), theme_ids=(theme.pk,), touchpoints=("delivery",)))
    impact = selectors.plan_impact(plan, today=pivot + dt.timedelta(days=100))
    assert (impact.before.start, impact.before.end, impact.after.end) == (
        dt.date(2026, 1, 4), pivot, dt.date(2026, 4, 26))
    assert (impact.before.responses, impact.before.nps, impact.before.cases) == (4, 0.0, 4)
    assert (impact.after.responses, impact.after.nps, impact.after.cases) == (3, 33.3, 1)
    assert impact.nps_change == 33.3
    assert (impact.before.cases_per_week, impact.after.cases_per_week, impact.cases_per_week_change) == (0.5, 0.1, -0.4)
    assert impact.complete is True
    running = selectors.plan_impact(plan, today=pivot + dt.timedelta(days=6))
    assert (running.after.days, running.complete) == (7, False)


def test_overdue_plans_show_on_the_managers_dashboard(client, personas):
    late = services.plan_create(by=personas.mia, data=plan_input(personas.bob, title="Retrain couriers",
                                                                 due_date=timezone.localdate() - dt.timedelta(days=2)))
    services.plan_create(by=personas.mia, data=plan_input(personas.bob, title="Not due yet",
                                                          due_date=timezone.localdate() + dt.timedelta(days=2)))
    client.force_login(personas.mia)
    html = client.get("/reports/overdue/").content.decode()
    assert 'id="overdue-plans"' in html and "Retrain couriers" in html and "Not due yet" not in html
    assert [p.pk for p in selectors.overdue_plans(personas.mia)] == [late.pk]


def test_pages_create_show_note_and_link(client, personas):
    case = CaseFactory(team=personas.north, reference="CL-000777")
    client.force_login(personas.mia)
    assert client.get("/plans/").status_code == 200
    answer = client.post("/plans/new/", {"title": "Pack better", "owner": personas.mia.pk, "status": "planned",
                                         "due_date": "2026-09-01", "touchpoints": "delivery, returns"})
    assert answer.status_code == 302
    plan = ActionPlan.objects.get(title="Pack better")
    assert plan.touchpoints == ["delivery", "returns"]
    client.post(f"/plans/{plan.pk}/notes/", {"text": "Spoke to the warehouse."})
    client.post(f"/plans/{plan.pk}/cases/", {"references": "cl-000777"})
    assert list(plan.cases.all()) == [case]
    page = client.get(f"/plans/{plan.pk}/").content.decode()
    assert "Spoke to the warehouse." in page and "CL-000777" in page and "Linked CL-000777." in page
    bad = client.post(f"/plans/{plan.pk}/cases/", {"references": "CL-404404"}, follow=True)
    assert "No case you may see has the reference CL-404404." in bad.content.decode()
    empty = client.post("/plans/new/", {"title": "", "owner": personas.mia.pk, "status": "planned", "due_date": "x"})
    assert empty.status_code == 422


def test_strangers_do_not_see_a_plan(client, personas):
    plan = services.plan_create(by=personas.mia, data=plan_input(personas.mia, team_id=personas.north.pk))
    client.force_login(personas.charlie)
    assert client.get(f"/plans/{plan.pk}/").status_code == 404


def test_the_api_and_the_csv(api_client, client, personas):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(personas.mia)}")
    created = api_client.post("/api/v1/action-plans/", {"title": "Faster refunds", "owner": personas.mia.pk,
                                                        "due_date": "2026-07-01", "touchpoints": ["refunds"]},
                              format="json")
    assert created.status_code == 201
    pk = created.json()["id"]
    detail = api_client.get(f"/api/v1/action-plans/{pk}/").json()
    assert detail["title"] == "Faster refunds" and detail["impact"]["pivot"] == "2026-07-01"
    # No team (the whole organisation): null, and the schema says the field can be (an integrator's
    # generated client refused the answer when it did not).
    assert created.json()["team"] is None and detail["team"] is None
    plan = yaml.safe_load(client.get("/api/schema/").content)["components"]["schemas"]["Plan"]["properties"]["team"]
    assert plan == {"type": "integer", "readOnly": True, "nullable": True}
    assert api_client.post(f"/api/v1/action-plans/{pk}/notes/", {"text": "Started."}, format="json").status_code == 201
    assert api_client.get("/api/v1/action-plans/", {"status": "nope"}).status_code == 400
    assert api_client.get("/api/v1/action-plans/99999999999999999999/").status_code == 404
    bad = api_client.post("/api/v1/action-plans/", {"title": "x", "owner": 99999, "due_date": "2026-07-01"}, format="json")
    assert bad.status_code == 400 and bad.json()["owner"] == ["Choose an active user as the owner."]
    client.force_login(personas.mia)
    rows = client.get("/plans/export.csv").content.decode().splitlines()
    assert rows[0].startswith("id,title,status,owner,team,due_date")
    assert rows[1].startswith(f"{pk},Faster refunds,planned,mia,,2026-07-01,,")


@pytest.mark.parametrize("with_team", [True, False])
def test_a_touchpoint_plans_scores_from_the_rollup_equal_a_direct_query(personas, with_team):
    """A plan that targets touchpoints only reads the daily score rollup: the same figures as
    score_aggregates over the responses themselves, for a team's plan and an organisation-wide one."""
    from reporting.selectors.scoring import score_aggregates, score_figures
    from surveys.models import SurveyResponse

    north, south = personas.north, personas.south
    pivot = dt.date(2026, 3, 1)
    at = lambda day, hour=12: timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))  # noqa: E731
    rows = [  # (team, touchpoint, days from the pivot, hour, nps, csat, ces)
        (north, "delivery", -1, 23, 2, 5, 7), (north, "delivery", -56, 0, 10, 4, 2), (north, "delivery", -57, 12, 0, 1, 1),
        (north, "returns", -3, 9, 9, None, 6), (south, "delivery", -4, 9, 3, 2, None), (north, "billing", -2, 9, 0, 1, 1),
        (north, "delivery", 0, 0, 7, 3, 4), (south, "returns", 5, 18, 10, 5, 7), (north, "delivery", 55, 23, 1, None, 3),
        (north, "delivery", 56, 0, 10, 5, 7),
    ]
    for n, (team, touchpoint, days, hour, nps, csat, ces) in enumerate(rows):
        SurveyResponseFactory(team=team, touchpoint=touchpoint, answered_at=at(pivot + dt.timedelta(days=days), hour),
                              nps=nps, csat=csat, csat_scale_min=1 if csat else None, csat_scale_max=5 if csat else None,
                              ces=ces, ces_scale_min=1 if ces else None, ces_scale_max=7 if ces else None,
                              ces_high_is_easy=True if ces else None, external_id=f"r{n}")
    plan = services.plan_create(by=personas.mia, data=plan_input(
        personas.mia, due_date=pivot, touchpoints=("delivery", "returns"), **({"team_id": north.pk} if with_team else {})))
    impact = selectors.plan_impact(plan, today=pivot + dt.timedelta(days=100))

    def direct(start, end):
        qs = SurveyResponse.objects.filter(touchpoint__in=("delivery", "returns"), answered_at__gte=at(start, 0),
                                           answered_at__lt=at(end, 0))
        if with_team:
            qs = qs.filter(team=north)
        counts = qs.aggregate(answered=Count("pk"), **score_aggregates())
        figures = score_figures(counts)
        return (counts["answered"], figures["nps"], figures["csat_top2_pct"], figures["ces_avg"], figures["detractors_pct"])

    for side in (impact.before, impact.after):
        assert (side.responses, side.nps, side.csat_top2_pct, side.ces_avg, side.detractors_pct) == direct(side.start, side.end)
    expected = {True: ((3, 33.3), (2, -50.0)), False: ((4, 0.0), (3, 0.0))}[with_team]
    assert ((impact.before.responses, impact.before.nps), (impact.after.responses, impact.after.nps)) == expected


@pytest.mark.parametrize("with_team", [True, False])
@pytest.mark.parametrize("touchpoints", [("delivery",), ()])
def test_a_theme_plans_figures_from_the_rollups_equal_a_direct_query(personas, with_team, touchpoints):
    """A plan that targets themes (and maybe a touchpoint) sums the theme rollup, less the answers
    tagged with two of its themes counted twice there, and counts its cases from the cases' stored
    touchpoint and the tags: the same figures as the responses and cases themselves, for a team's
    plan and an organisation-wide one."""
    from reporting.selectors.scoring import score_aggregates, score_figures
    from surveys.models import ResponseTheme, SurveyResponse

    north, south = personas.north, personas.south
    late, rude, other = ThemeFactory(name="late"), ThemeFactory(name="rude"), ThemeFactory(name="price")
    pivot = dt.date(2026, 3, 1)
    at = lambda day, hour=12: timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))  # noqa: E731
    rows = [  # (team, touchpoint, days from the pivot, hour, nps, csat, ces, themes, cases: (team, days from the pivot))
        (north, "delivery", -1, 23, 2, 5, 7, (late,), [(north, 0)]),
        (north, "returns", -56, 0, 10, 4, 2, (late, rude), [(north, -50)]),
        (north, "returns", -57, 12, 0, 1, 1, (late, rude), [(north, -20)]),  # answered before the side, case in it
        (north, "billing", -3, 9, 9, None, 6, (rude, other), [(south, -2)]),  # the case moved to another team
        (south, "billing", -4, 9, 3, 2, None, (late, rude), [(south, -4)]),
        (north, "billing", -2, 9, 0, 1, 1, (), [(north, -2)]),  # untargeted
        (north, "delivery", -2, 10, 6, 2, 2, (), [(north, -1), (north, 3)]),
        (north, "delivery", 0, 0, 7, 3, 4, (late, rude), []),
        (north, "returns", 0, 0, 8, 3, 4, (late, rude, other), [(north, 1)]),
        (south, "returns", 5, 18, 10, 5, 7, (rude,), [(south, 5)]),
        (north, "billing", 55, 23, 1, None, 3, (other,), [(north, 55)]),
        (north, "returns", 56, 0, 10, 5, 7, (late,), [(north, 56)]),
        (None, "returns", 7, 8, 4, 2, 3, (late, rude), []),  # no team yet
    ]
    for n, (team, touchpoint, days, hour, nps, csat, ces, themes, cases) in enumerate(rows):
        response = SurveyResponseFactory(
            team=team, touchpoint=touchpoint, answered_at=at(pivot + dt.timedelta(days=days), hour), nps=nps, csat=csat,
            csat_scale_min=1 if csat else None, csat_scale_max=5 if csat else None, ces=ces,
            ces_scale_min=1 if ces else None, ces_scale_max=7 if ces else None, ces_high_is_easy=True if ces else None,
            external_id=f"r{n}")
        for theme in themes:
            ResponseThemeFactory(response=response, theme=theme)
        for case_team, case_days in cases:
            CaseFactory(response=response, team=case_team, created_at=at(pivot + dt.timedelta(days=case_days), 15))
    plan = services.plan_create(by=personas.mia, data=plan_input(
        personas.mia, due_date=pivot, theme_ids=(late.pk, rude.pk), touchpoints=touchpoints,
        **({"team_id": north.pk} if with_team else {})))
    impact = selectors.plan_impact(plan, today=pivot + dt.timedelta(days=100))

    def targeted(start=None, end=None):
        tags = ResponseTheme.objects.filter(theme__in=(late, rude))
        dates = {"answered_at__gte": at(start, 0), "answered_at__lt": at(end, 0)} if start else {}
        qs = SurveyResponse.objects.filter(Q(touchpoint__in=touchpoints) | Q(pk__in=tags.filter(**dates).values("response")),
                                           **dates)
        return qs.filter(team=north) if with_team else qs

    def direct(start, end):
        counts = targeted(start, end).aggregate(answered=Count("pk"), **score_aggregates())
        figures = score_figures(counts)
        cases = Case.objects.filter(response__in=targeted(), created_at__gte=at(start, 0), created_at__lt=at(end, 0))
        cases = cases.filter(team=north) if with_team else cases
        return (counts["answered"], figures["nps"], figures["csat_top2_pct"], figures["ces_avg"],
                figures["detractors_pct"], cases.count())

    for side in (impact.before, impact.after):
        assert (side.responses, side.nps, side.csat_top2_pct, side.ces_avg, side.detractors_pct,
                side.cases) == direct(side.start, side.end)
    expected = {  # (answered, cases) before and after
        (True, ("delivery",)): ((4, 3), (2, 3)), (True, ()): ((3, 2), (2, 2)),
        (False, ("delivery",)): ((5, 5), (4, 4)), (False, ()): ((4, 4), (4, 3)),
    }[with_team, touchpoints]
    assert ((impact.before.responses, impact.before.cases), (impact.after.responses, impact.after.cases)) == expected


def test_the_csv_and_the_api_list_each_plans_cases_newest_first_in_as_many_queries_whatever_their_number(
        api_client, client, personas):
    """The CSV export and the API list read the linked cases' references (only those: a plan of
    many cases built a full case for each) in one query for every plan, newest case first."""
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    mia, north = personas.mia, personas.north
    plan = services.plan_create(by=mia, data=plan_input(mia, team_id=north.pk))
    now = timezone.now()
    old, new = (CaseFactory(team=north, reference=ref, created_at=now - dt.timedelta(days=days))
                for ref, days in (("CL-OLD001", 3), ("CL-NEW001", 1)))
    services.plan_cases_link(plan_id=plan.pk, by=mia, references=[old.reference, new.reference])
    client.force_login(mia)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(mia)}")

    def read() -> tuple[list[str], list[str], int, int]:
        with CaptureQueriesContext(connection) as csv_queries:
            rows = client.get("/plans/export.csv").content.decode().splitlines()
        with CaptureQueriesContext(connection) as api_queries:
            listed = api_client.get("/api/v1/action-plans/").json()["results"]
        for queries in (csv_queries, api_queries):
            cases_sql = next(q["sql"] for q in queries if "improvement_actionplan_cases" in q["sql"])
            assert set(re.findall(r'"cases_case"\."(\w+)"', cases_sql.split(" FROM ")[0])) == {"id", "reference"}
        line = next(r for r in rows if r.startswith(f"{plan.pk},"))
        return (next(c for c in line.split(",") if c.startswith("CL-")).split("; "),
                next(p for p in listed if p["id"] == plan.pk)["cases"], len(csv_queries), len(api_queries))

    read()  # the first requests of a session read what later ones find cached
    csv_cases, api_cases, csv_n, api_n = read()
    assert csv_cases == api_cases == ["CL-NEW001", "CL-OLD001"]
    more = [CaseFactory(team=north, reference=f"CL-MORE{i:02d}", created_at=now - dt.timedelta(days=10 + i))
            for i in range(5)]
    services.plan_cases_link(plan_id=plan.pk, by=mia, references=[c.reference for c in more])
    csv_cases, api_cases, csv_more, api_more = read()
    assert csv_cases == api_cases == ["CL-NEW001", "CL-OLD001", *(f"CL-MORE{i:02d}" for i in range(5))]
    assert (csv_more, api_more) == (csv_n, api_n)
