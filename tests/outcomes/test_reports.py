"""The closed-loop results and impact reports on a small hand-built world whose figures are
worked out by hand below (API, CSV and pages read the same tables)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.models import Case
from customers.services import contact_set
from followup.models import Verification
from outcomes.models import OutcomeEvent
from tests.factories import (
    AccountFactory,
    ResponseThemeFactory,
    RootCauseCategoryFactory,
    RootCauseFactory,
    ThemeFactory,
    api_key_for,
)
from tests.inbox.helpers import make_case, make_customer, make_response

pytestmark = pytest.mark.django_db
ANSWERED = timezone.now().replace(microsecond=0) - dt.timedelta(days=400)  # every window has passed
PERIOD = f"date_from={(ANSWERED - dt.timedelta(days=1)).date()}&date_to={(ANSWERED + dt.timedelta(days=5)).date()}"


def _event(customer, kind, amount, days, currency="EUR"):
    OutcomeEvent.objects.create(customer=customer, kind=kind, amount=Decimal(amount), currency=currency,
                                occurred_at=ANSWERED + dt.timedelta(days=days), source="test",
                                external_id=f"{customer.external_id}-{kind}-{days}-{currency}")


@pytest.fixture
def world(personas):
    """North (mia's team): A resolved+verified, B resolved, C contacted, D never contacted, E passive,
    F promoter. South: G, a detractor mia must not see. Every customer's account value: 12500."""
    cause = RootCauseFactory(category=RootCauseCategoryFactory(name="Billing"), name="Late invoice")
    closed = {"status": Case.Status.CLOSED, "outcome": Case.Outcome.RESOLVED, "root_cause": cause,
              "resolution": "Credited the late fee.",
              "closed_at": ANSWERED + dt.timedelta(days=1), "first_contacted_at": ANSWERED + dt.timedelta(hours=2)}
    people = {key: make_customer(f"Customer {key}", email=f"{key.lower()}@example.com", external_id=key)
              for key in "ABCDEFG"}
    at = {"answered_at": ANSWERED}
    a = make_case(personas.north, customer=people["A"], nps=3, response_extra=at, **closed)
    Verification.objects.create(case=a, round=0, team=personas.north, status=Verification.Status.ANSWERED,
                                answered_at=ANSWERED + dt.timedelta(days=3), answer_value=9, recovered=True)
    make_case(personas.north, customer=people["B"], nps=2, response_extra=at, **closed)
    make_case(personas.north, customer=people["C"], nps=4, response_extra=at, status=Case.Status.IN_PROGRESS,
              first_contacted_at=ANSWERED + dt.timedelta(hours=3))
    d = make_response(customer=people["D"], team=personas.north, nps=1, **at)
    ResponseThemeFactory(response=d, theme=ThemeFactory(name="Queues", slug="queues"))
    make_response(customer=people["E"], team=personas.north, nps=8, **at)
    make_response(customer=people["F"], team=personas.north, nps=10, **at)
    make_response(customer=people["G"], team=personas.south, nps=0, **at)
    _event(people["A"], "renewal", "1000", 30)
    _event(people["B"], "renewal", "500", 100)
    _event(people["C"], "churn", "0", 200)
    _event(people["D"], "churn", "300", 60)
    _event(people["D"], "refund", "100", 10)
    _event(people["F"], "purchase", "200", 5)
    _event(people["F"], "purchase", "50", 6, currency="USD")
    _event(people["G"], "churn", "0", 20)
    return people, cause


def _report(api_client, user, name):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    response = api_client.get(f"/api/v1/reports/{name}/?{PERIOD}")
    assert response.status_code == 200, response.content
    return response.json()


def _cells(body, *keys):
    return [tuple(row[k] for k in keys) for row in body["rows"]]


def test_results_by_group_and_window(api_client, personas, world):
    body = _report(api_client, personas.mia, "closed-loop-results")
    assert _cells(body, "group", "days", "customers", "churned", "churn_pct", "churn_low", "churn_high",
                  "retention_pct", "revenue", "small") == [
        ("Detractors: resolved and verified", 90, 1, 0, 0.0, 0.0, 79.3, 100.0, 1000.0, True),
        ("Detractors: resolved and verified", 180, 1, 0, 0.0, 0.0, 79.3, 100.0, 1000.0, True),
        ("Detractors: resolved and verified", 365, 1, 0, 0.0, 0.0, 79.3, 100.0, 1000.0, True),
        ("Detractors: resolved, not verified", 90, 1, 0, 0.0, 0.0, 79.3, 100.0, 0.0, True),
        ("Detractors: resolved, not verified", 180, 1, 0, 0.0, 0.0, 79.3, 100.0, 500.0, True),
        ("Detractors: resolved, not verified", 365, 1, 0, 0.0, 0.0, 79.3, 100.0, 500.0, True),
        ("Detractors: contacted, not resolved", 90, 1, 0, 0.0, 0.0, 79.3, 100.0, 0.0, True),
        ("Detractors: contacted, not resolved", 180, 1, 0, 0.0, 0.0, 79.3, 100.0, 0.0, True),
        ("Detractors: contacted, not resolved", 365, 1, 1, 100.0, 20.7, 100.0, 0.0, 0.0, True),
        ("Detractors: never contacted or overdue", 90, 1, 1, 100.0, 20.7, 100.0, 0.0, -100.0, True),
        ("Detractors: never contacted or overdue", 180, 1, 1, 100.0, 20.7, 100.0, 0.0, -100.0, True),
        ("Detractors: never contacted or overdue", 365, 1, 1, 100.0, 20.7, 100.0, 0.0, -100.0, True),
        ("Passives", 90, 1, 0, 0.0, 0.0, 79.3, 100.0, 0.0, True),
        ("Passives", 180, 1, 0, 0.0, 0.0, 79.3, 100.0, 0.0, True),
        ("Passives", 365, 1, 0, 0.0, 0.0, 79.3, 100.0, 0.0, True),
        ("Promoters", 90, 1, 0, 0.0, 0.0, 79.3, 100.0, 200.0, True),  # the USD purchase is not added to EUR
        ("Promoters", 180, 1, 0, 0.0, 0.0, 79.3, 100.0, 200.0, True),
        ("Promoters", 365, 1, 0, 0.0, 0.0, 79.3, 100.0, 200.0, True),
    ]
    assert body["filters"]["teams_in_scope"] == [personas.north.pk]


def test_the_value_of_closing_the_loop(api_client, personas, world):
    body = _report(api_client, personas.mia, "closed-loop-value")
    # 90 days: resolved A and B average (1000 + 0) / 2 = 500 against D's -100: 600 a customer, x2 = 1200;
    # churn 100% (D) against 0%: 100 points, 2 customers' worth.
    assert _cells(body, "days", "resolved", "not_contacted", "revenue_gap", "value", "churn_gap", "churn_avoided") == [
        (90, 2, 1, 600.0, 1200.0, 100.0, 2.0), (180, 2, 1, 850.0, 1700.0, 100.0, 2.0),
        (365, 2, 1, 850.0, 1700.0, 100.0, 2.0)]


def test_an_admin_sees_the_south_detractor_too_and_a_window_not_passed_counts_no_one(api_client, personas, world):
    body = _report(api_client, personas.adam, "closed-loop-results")
    never = [r for r in body["rows"] if r["group"] == "Detractors: never contacted or overdue"]
    assert [(r["customers"], r["churned"], r["churn_pct"], r["revenue"], r["revenue_low"], r["revenue_high"])
            for r in never] == [(2, 2, 100.0, -50.0, -148.0, 48.0)] * 3
    # answers from the last 90 days: no window has passed yet
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(personas.adam)}")
    make_response(customer=world[0]["E"], team=personas.north, nps=2)
    recent = api_client.get("/api/v1/reports/closed-loop-results/?date_from="
                            f"{(timezone.localdate() - dt.timedelta(days=10))}").json()
    assert {r["customers"] for r in recent["rows"]} == {0}


def test_results_by_team_and_root_cause(api_client, personas, world):
    by_cause = _report(api_client, personas.mia, "closed-loop-results-by-root-cause")
    assert _cells(by_cause, "slice", "group", "customers", "revenue") == [
        ("Billing > Late invoice", "Detractors: resolved and verified", 1, 1000.0),
        ("Billing > Late invoice", "Detractors: resolved, not verified", 1, 500.0),
        ("(none)", "Detractors: contacted, not resolved", 1, 0.0),
        ("(none)", "Detractors: never contacted or overdue", 1, -100.0),
    ]
    by_team = _report(api_client, personas.adam, "closed-loop-results-by-team")
    assert [(r["slice"], r["customers"]) for r in by_team["rows"] if r["group"].startswith("Detractors: never")] == [
        ("North", 1), ("South", 1)]


def test_impact_ranks_what_to_fix_first_and_links_the_cases_behind_it(api_client, personas, world, client):
    people, cause = world
    body = _report(api_client, personas.mia, "fix-first")
    # NPS of North's six answers: (1 promoter - 4 detractors) / 6 = -50. Without the late invoice's two
    # detractors: (1 - 2) / 4 = -25, 25 points lost; without the queues' one: (1 - 3) / 5 = -40, 10 points.
    assert _cells(body, "rank", "name", "kind", "cases", "detractors", "points_lost", "revenue_at_risk", "customers",
                  "churned", "churn_pct", "churn_low", "churn_high") == [
        (1, "Billing > Late invoice", "Root cause", 2, 2, 25.0, "25000.00", 2, 0, 0.0, 0.0, 65.8),
        (2, "Queues", "Theme", 0, 1, 10.0, "12500.00", 1, 1, 100.0, 20.7, 100.0),
    ]
    link = body["links"][0]["cases"]
    assert f"root_cause={cause.pk}" in link and "view=recently_closed" in link
    client.force_login(personas.mia)
    inbox = client.get(link)
    assert inbox.status_code == 200
    assert inbox.content.decode().count("Customer A") + inbox.content.decode().count("Customer B") >= 2
    assert _report(api_client, personas.mia, "impact-root-causes")["rows"][0]["points_lost"] == 25.0
    assert [r["name"] for r in _report(api_client, personas.mia, "impact-themes")["rows"]] == ["Queues"]


def test_the_pages_and_csv_show_the_same_tables_within_budget(client, personas, world, django_assert_max_num_queries):
    client.force_login(personas.mia)
    client.get(f"/reports/results/?{PERIOD}")  # the filter bar's cached options are read once
    # 15: the filter bar's named segments are one query since segments came (every report page).
    with django_assert_max_num_queries(15):
        page = client.get(f"/reports/results/?{PERIOD}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "How these figures are made" in text and "Estimated value of closing the loop" in text
    client.get(f"/reports/impact/?{PERIOD}")
    with django_assert_max_num_queries(17):
        impact = client.get(f"/reports/impact/?{PERIOD}")
    assert impact.status_code == 200 and "Billing &gt; Late invoice" in impact.content.decode()
    csv = client.get(f"/reports/export/closed-loop-value.csv?{PERIOD}").content.decode()
    assert csv.splitlines()[1].startswith("90,2,1,600.0,1200.0,100.0,2.0")
    client.force_login(personas.alice)
    assert client.get("/reports/results/").status_code == 404


def test_a_merged_customers_events_and_an_accounts_churn_count_for_the_customer(api_client, personas, world):
    people, _cause = world
    old_f = make_customer("F (old record)", email="f.old@example.com", external_id="F-OLD", merged_into=people["F"])
    _event(old_f, "purchase", "40", 50)  # recorded before the merge, on the record merged into F
    account = AccountFactory(name="E's employer")
    contact_set(account_id=account.pk, customer_id=people["E"].pk, role="user")
    OutcomeEvent.objects.create(account=account, kind="churn", amount=Decimal("900"), currency="EUR",
                                occurred_at=ANSWERED + dt.timedelta(days=120), source="test", external_id="acct-churn")
    body = _report(api_client, personas.mia, "closed-loop-results")
    rows = {(r["group"], r["days"]): r for r in body["rows"]}
    assert (rows["Promoters", 90]["revenue"], rows["Passives", 90]["churned"], rows["Passives", 180]["churned"],
            rows["Passives", 180]["revenue"]) == (240.0, 0, 1, 0.0)
    fix = _report(api_client, personas.adam, "impact-themes")
    assert fix["rows"][0]["churned"] == 1  # D, the only customer the theme touched
