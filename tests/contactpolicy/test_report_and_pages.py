"""The Contact report (answers against the policy, customers asked too often) and the settings page."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.models import Case
from contactpolicy.models import ContactPolicy
from tests.factories import CaseFactory, CustomerFactory, RootCauseFactory, SurveyResponseFactory

pytestmark = pytest.mark.django_db


def table(response, name):
    tables = (response.context["summary"], response.context["breaches"], response.context["over_contacted"])
    return {t.name: t for t in tables}[name]


@pytest.fixture
def history(personas):
    now = timezone.now()
    north = personas.north
    ana = CustomerFactory(name="Ana")
    opening = SurveyResponseFactory(customer=ana, team=north, answered_at=now - dt.timedelta(days=10), external_id="a1")
    CaseFactory(response=opening, team=north, created_at=now - dt.timedelta(days=10))
    SurveyResponseFactory(customer=ana, team=north, answered_at=now - dt.timedelta(days=5), external_id="a2")
    ben = CustomerFactory(name="Ben")
    for i, days in enumerate((20, 15, 9, 2)):
        SurveyResponseFactory(customer=ben, team=north, nps=9, answered_at=now - dt.timedelta(days=days),
                              external_id=f"b{i}")
    cleo = CustomerFactory(name="Cleo")
    first = SurveyResponseFactory(customer=cleo, team=north, answered_at=now - dt.timedelta(days=12), external_id="c1")
    CaseFactory(response=first, team=north, created_at=now - dt.timedelta(days=12), status=Case.Status.CLOSED,
                closed_at=now - dt.timedelta(days=3), root_cause=RootCauseFactory(), outcome=Case.Outcome.RESOLVED,
                resolution="Refunded.")
    SurveyResponseFactory(customer=cleo, team=north, nps=8, answered_at=now - dt.timedelta(days=1), external_id="c2")
    # Someone else's team: never on North's manager's report.
    dan = CustomerFactory(name="Dan")
    for i, days in enumerate((6, 5, 4, 3)):
        SurveyResponseFactory(customer=dan, team=personas.south, answered_at=now - dt.timedelta(days=days),
                              external_id=f"d{i}")
    return personas


def test_the_report_counts_each_rule_and_lists_the_answers(client, history):
    client.force_login(history.mia)
    page = client.get("/reports/contact/")
    assert page.status_code == 200
    summary = {row["rule"]: (row["answers"], row["share"]) for row in table(page, "contact-breaches-summary").rows}
    # 8 answers from North's customers: Ana's second (open case), Ben's fourth (limit 3 in 30 days),
    # Cleo's second (3 days after her case closed, within 14).
    assert summary == {
        "While a case was open": (1, 12.5),
        "Within the rest days after a case closed": (1, 12.5),
        "Over the survey limit": (1, 12.5),
        "Any rule": (3, 37.5),
    }
    breaches = table(page, "contact-breaches").rows
    assert [(row["customer"], row["rules"]) for row in breaches] == [
        ("Cleo", "Within the rest days after a case closed"),
        ("Ben", "Over the survey limit"),
        ("Ana", "While a case was open"),
    ]
    over = table(page, "contact-over-contacted").rows
    assert [(row["customer"], row["contacts"], row["allowed"]) for row in over] == [("Ben", 4, 3)]


def test_the_report_follows_the_policy(client, history):
    ContactPolicy.objects.create(id=1, max_surveys=0, open_case_blocks=False, days_after_close=0)
    from contactpolicy.services import _policy_cache

    _policy_cache.changed()
    client.force_login(history.adam)
    page = client.get("/reports/contact/")
    summary = {row["rule"]: row["answers"] for row in table(page, "contact-breaches-summary").rows}
    assert summary == {"Any rule": 0}
    assert table(page, "contact-over-contacted").rows == []


def test_the_csv_and_api_give_the_same_rows(client, history):
    client.force_login(history.mia)
    csv = client.get("/reports/export/contact-over-contacted.csv").content.decode()
    assert csv.splitlines()[1].startswith("Ben,4,3,")


def test_agents_do_not_see_the_report(client, personas):
    client.force_login(personas.alice)
    assert client.get("/reports/contact/").status_code == 404


def test_an_admin_saves_the_policy_on_its_page(client, personas):
    client.force_login(personas.adam)
    page = client.get("/settings/contact-policy/")
    assert page.status_code == 200
    answer = client.post("/settings/contact-policy/", {
        "save": "1", "max_surveys": "2", "period_days": "60", "open_case_blocks": "on", "days_after_close": "7",
        "quiet_hours": "on", "quiet_start": "22:00", "quiet_end": "07:30", "default_time_zone": "Europe/Paris"})
    assert answer.status_code == 302
    policy = ContactPolicy.objects.get()
    assert (policy.max_surveys, policy.period_days, policy.days_after_close, str(policy.quiet_end),
            policy.default_time_zone) == (2, 60, 7, "07:30:00", "Europe/Paris")


def test_a_wrong_value_is_shown_beside_its_field(client, personas):
    client.force_login(personas.adam)
    answer = client.post("/settings/contact-policy/", {
        "save": "1", "max_surveys": "2", "period_days": "0", "days_after_close": "7", "quiet_start": "22:00",
        "quiet_end": "07:30", "default_time_zone": "Nowhere/Land"})
    assert answer.status_code == 422
    assert "The period is at least one day." in answer.content.decode()
    assert "Not a time zone: use an IANA name such as Europe/Madrid." in answer.content.decode()
    assert ContactPolicy.load().period_days == 30


def test_a_manager_reads_the_policy_and_asks_about_an_address(client, personas):
    customer = CustomerFactory(email="ana@example.com")
    CaseFactory(response=SurveyResponseFactory(customer=customer))
    client.force_login(personas.mia)
    page = client.get("/settings/contact-policy/", {"email": "ana@example.com"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Only CX admins may change the policy." in html
    assert "Not now." in html
    assert "A case of theirs is open: ask once it is closed." in html
    refused = client.post("/settings/contact-policy/", {"save": "1", "max_surveys": "9", "period_days": "30"})
    assert refused.status_code == 302
    assert not ContactPolicy.objects.filter(max_surveys=9).exists()


def _asked_four_times(personas, customers: int, now) -> None:
    """`customers` customers, each with four answers to North in the last 20 days."""
    for c in range(customers):
        customer = CustomerFactory(name=f"Asked {c:02d}")
        for i, days in enumerate((20, 15, 9, 2)):
            SurveyResponseFactory(customer=customer, team=personas.north, answered_at=now - dt.timedelta(days=days),
                                  external_id=f"n{c}-{i}")


@pytest.mark.parametrize("stored", [False, True], ids=["source rows", "stored peaks"])
@pytest.mark.parametrize("customers", [1, 50])
def test_over_contacted_costs_the_same_queries_for_one_customer_or_fifty(personas, customers, stored,
                                                                          django_assert_num_queries):
    from reporting import contact_breaches
    from reporting.filters import ReportFilters
    from reporting.selectors.contact import over_contacted

    now = timezone.now()
    _asked_four_times(personas, customers, now)
    if stored:
        contact_breaches.rebuild()
    filters = ReportFilters(team_ids=frozenset({personas.north.pk}), now=now)
    over_contacted(filters)  # the policy is read once and kept
    # Which policy the stored peaks are of, the candidates (one statement: the customers with a
    # peak in the period, or whose answers and recorded contacts together are above the limit,
    # that the manager's teams heard from), then for every candidate at once: their contacts, their
    # answers, their names.
    with django_assert_num_queries(5):
        rows = over_contacted(filters).rows
    assert [(row["customer"], row["contacts"]) for row in rows] == [(f"Asked {c:02d}", 4) for c in range(customers)]


def test_recorded_contacts_count_for_customers_the_teams_have_heard_from_only(personas):
    """Invitations alone can put a customer over the limit: on a manager's report only if one of
    their teams ever had an answer from that customer (the same list as counting the teams'
    customers' contacts directly)."""
    from contactpolicy.models import ContactEvent
    from reporting.filters import ReportFilters
    from reporting.selectors.contact import over_contacted

    now = timezone.now()
    heard = CustomerFactory(name="Heard long ago")
    SurveyResponseFactory(customer=heard, team=personas.north, answered_at=now - dt.timedelta(days=200), external_id="h")
    stranger = CustomerFactory(name="South's customer")
    SurveyResponseFactory(customer=stranger, team=personas.south, answered_at=now - dt.timedelta(days=200), external_id="s")
    both = CustomerFactory(name="Answered and invited")
    SurveyResponseFactory(customer=both, team=personas.north, answered_at=now - dt.timedelta(days=3), external_id="b")
    for customer, invitations in ((heard, 4), (stranger, 5), (both, 3)):
        for i in range(invitations):
            ContactEvent.objects.create(customer=customer, kind=ContactEvent.Kind.INVITATION,
                                        at=now - dt.timedelta(days=2 + i), sender="tool", external_id=f"{customer.pk}-{i}")
    north = over_contacted(ReportFilters(team_ids=frozenset({personas.north.pk}), now=now)).rows
    assert [(row["customer"], row["contacts"]) for row in north] == [("Heard long ago", 4), ("Answered and invited", 4)]
    everyone = over_contacted(ReportFilters(team_ids=None, now=now)).rows
    assert [(row["customer"], row["contacts"]) for row in everyone] == [
        ("South's customer", 5), ("Heard long ago", 4), ("Answered and invited", 4)]


@pytest.mark.parametrize("customers", [1, 30])
def test_the_breaches_cost_the_same_queries_for_one_customer_or_thirty(personas, customers,
                                                                        django_assert_num_queries):
    """The summary is two statements (which policy the stored breaches are of, then the period's
    stored rows with the stale customers computed set-based); the list the same plus the listed
    answers' names; the page's two tables share one computation."""
    from reporting.filters import ReportFilters
    from reporting.selectors.contact import contact_breach_summary, contact_breach_tables, contact_breaches

    now = timezone.now()
    _asked_four_times(personas, customers, now)
    filters = ReportFilters(team_ids=frozenset({personas.north.pk}), start=now - dt.timedelta(days=90), now=now)
    contact_breach_summary(filters)  # the policy is read once and kept
    with django_assert_num_queries(2):
        summary = contact_breach_summary(filters).rows
    with django_assert_num_queries(3):
        listed = contact_breaches(filters).rows
    with django_assert_num_queries(3):
        page_summary, page_list = contact_breach_tables(filters)
    assert (page_summary.rows, page_list.rows) == (summary, listed)
    # Each customer's fourth answer is over the limit of 3 in 30 days.
    assert summary[-1]["answers"] == len(listed) == customers
