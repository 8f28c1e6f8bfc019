"""The customer page and the account page: what they show, only from the viewer's teams, in a
fixed number of queries whatever the history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from cases.services import case_log_contact
from customers.services import contact_set, customer_consent_set
from segments.models import Segment
from segments.services import segment_save
from surveys.models import SurveyResponse
from tests.factories import AccountFactory, IdentityFactory, UserFactory
from tests.inbox.helpers import make_case, make_customer, make_response, source_and_survey

pytestmark = pytest.mark.django_db

# Session, user, teams; the customer and whether it is visible (one EXISTS when a response is);
# identities, channels, case counts, response count; the timeline's responses, cases, case events,
# consent changes, merges; the trend; the accounts; the segments; the bell's unread count; the
# two-factor check (an authenticator? and the role policy, cold); the churn panel: the model in use,
# and without one the outcome counts that say why (with one: the customer's risk): 22.
CUSTOMER_PAGE_QUERIES = 22
# Session, user, teams; the account, its tree (a query per level: 1 here); contacts, their names,
# their newest answers, newest NPS answers and the trend's months (one window query); open cases; children;
# the cases account rules opened; the bell; the two-factor check (two, cold); the churn panel (two, as
# on the customer page): 16 for the owner, and for anyone else (whether a contact is theirs to see,
# and the account at all, comes from the contacts' answers and cases the page reads anyway).
ACCOUNT_PAGE_QUERIES = 16


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ann(personas):
    customer = make_customer("Ann Lee", email="ann@example.com", external_id="C-1", tier="Gold", segment="Retail")
    now = timezone.now()
    make_response(customer=customer, team=personas.north, nps=9, comment="Quick and kind", channel="email",
                  answered_at=now - dt.timedelta(days=40))
    make_response(customer=customer, team=personas.south, nps=1, comment="Zanzibar parcel lost", channel="sms",
                  answered_at=now - dt.timedelta(days=20))
    case = make_case(personas.north, customer=customer, nps=3, comment="Queue far too long")
    case_log_contact(case_id=case.pk, by=personas.alice, channel="phone", outcome="reached")
    IdentityFactory(customer=customer, kind="phone", value="+447700900123")
    IdentityFactory(customer=customer, kind="external_id", value="C-1", source=case.response.source)
    customer_consent_set(customer_id=customer.pk, channel="email", consent="refused", by=personas.alice,
                         via="on the phone")
    return customer, case


def test_the_customer_page_shows_the_whole_customer_from_the_viewers_teams(personas, ann):
    customer, case = ann
    html = _client(personas.alice).get(f"/customers/{customer.pk}/").content.decode()
    assert "<h1>Ann Lee</h1>" in html and '<span class="tier">Gold</span>' in html
    assert '<a href="tel:+447700900123">+447700900123</a>' in html
    assert "C-1 <span class=\"muted\">(Tests)</span>" in html
    assert '<dd id="responses-total">2</dd>' in html  # the North answer and the case's; not South's
    assert "Quick and kind" in html and "Queue far too long" in html
    assert "Zanzibar" not in html and "sms" not in html.split('id="timeline"')[1]
    assert f'<a href="/cases/{case.reference}/">Case {case.reference} opened for North</a>' in html
    assert "alice logged a phone contact attempt (reached)" in html
    assert "alice set e-mail consent to refused" in html
    assert '<tr id="consent-email"><td>E-mail</td><td><span class="badge badge-danger">Refused</span></td></tr>' in html
    assert 'aria-label="NPS by month"' in html


def test_another_team_sees_only_its_part_and_a_stranger_gets_404(personas, ann):
    customer, _case = ann
    html = _client(personas.charlie).get(f"/customers/{customer.pk}/").content.decode()
    assert "Zanzibar parcel lost" in html and "Quick and kind" not in html and "Queue far too long" not in html
    assert '<dd id="responses-total">1</dd>' in html
    stranger = make_customer("Cy Moss", email="cy@example.com")
    make_response(customer=stranger, team=personas.south)
    assert _client(personas.alice).get(f"/customers/{stranger.pk}/").status_code == 404
    assert _client(personas.alice).get("/customers/999999/").status_code == 404
    listed = _client(personas.alice).get("/customers/").content.decode()
    assert "Ann Lee" in listed and "Cy Moss" not in listed
    assert "Ann Lee" in _client(personas.alice).get("/customers/?q=%2B44 7700 900123").content.decode()


def test_the_case_page_links_to_the_customer_page(personas, ann):
    customer, case = ann
    html = _client(personas.alice).get(f"/cases/{case.reference}/").content.decode()
    assert f'<a href="/customers/{customer.pk}/">Ann Lee</a>' in html


def test_the_customer_page_shows_the_segments_the_customer_is_in(personas, ann, api_client):
    customer, _case = ann
    segment_save(Segment(name="Gold customers", conditions=[{"field": "tier", "operator": "equals", "value": "gold"}]))
    segment_save(Segment(name="Big spenders", conditions=[{"field": "account.value", "operator": "gte", "value": "1000"}]))
    segment_save(Segment(name="Retail or VIP", match="any", conditions=[
        {"field": "segment", "operator": "equals", "value": "retail"},
        {"field": "attributes.vip", "operator": "is_set", "value": ""}]))
    html = _client(personas.alice).get(f"/customers/{customer.pk}/").content.decode()
    assert ('<div id="segments"><dt>Segments</dt><dd><span class="badge badge-muted">Gold customers</span> '
            '<span class="badge badge-muted">Retail or VIP</span> </dd></div>') in html
    api_client.force_authenticate(personas.alice)
    body = api_client.get(f"/api/v1/customers/{customer.pk}/").json()
    assert [s["name"] for s in body["segments"]] == ["Gold customers", "Retail or VIP"]
    # A contact of an account worth 5,000: in "Big spenders" too (the account values are read).
    contact_set(account_id=AccountFactory(name="Acme", value=5000).pk, customer_id=customer.pk, role="user")
    html = _client(personas.alice).get(f"/customers/{customer.pk}/").content.decode()
    assert ('<dd><span class="badge badge-muted">Big spenders</span> <span class="badge badge-muted">Gold customers'
            '</span> <span class="badge badge-muted">Retail or VIP</span> </dd>') in html


def test_a_customer_in_no_segment_reads_a_dash(personas, ann):
    customer, _case = ann
    segment_save(Segment(name="Silver", conditions=[{"field": "tier", "operator": "equals", "value": "silver"}]))
    html = _client(personas.alice).get(f"/customers/{customer.pk}/").content.decode()
    assert '<div id="segments"><dt>Segments</dt><dd>—</dd></div>' in html


@pytest.mark.parametrize("n_responses", [1, 500])
def test_the_customer_page_costs_the_same_queries_for_1_or_500_responses(
        personas, django_assert_max_num_queries, n_responses):
    customer = make_customer("Ann Lee", email="ann@example.com")
    source, survey = source_and_survey()
    start = timezone.now() - dt.timedelta(days=700)
    SurveyResponse.objects.bulk_create([
        SurveyResponse(source=source, survey=survey, customer=customer, team=personas.north, external_id=f"b-{i}",
                       answered_at=start + dt.timedelta(days=i), nps=i % 11, comment=f"answer {i}", channel="email")
        for i in range(n_responses)])
    make_case(personas.north, customer=customer)
    client = _client(personas.alice)
    with django_assert_max_num_queries(CUSTOMER_PAGE_QUERIES):
        response = client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    assert response.content.decode().count('class="event event-') == min(100, n_responses + 2)  # + the case and its response


@pytest.fixture
def northwind(personas):
    """Northwind (owned by mia) with a child, Northwind Online; five contacts who answered."""
    group = AccountFactory(name="Northwind Group", owner=personas.mia)
    online = AccountFactory(name="Northwind Online", parent=group)
    now = timezone.now()
    people = {}
    for key, account, role, nps, days, team in [
        ("robin", group, "decision_maker", 4, 10, personas.north), ("priya", group, "influencer", 10, 30, personas.north),
        ("tom", group, "user", 7, 15, personas.north), ("lena", online, "decision_maker", 9, 40, personas.north),
        ("omar", online, "user", 2, 25, personas.north), ("zed", online, "user", 0, 5, personas.south),
    ]:
        people[key] = make_customer(key.title(), email=f"{key}@example.com")
        make_response(customer=people[key], team=team, nps=nps, answered_at=now - dt.timedelta(days=days))
        contact_set(account_id=account.pk, customer_id=people[key].pk, role=role)
    return group, online, people


def test_the_account_page_figures_over_the_account_and_its_children(personas, northwind):
    group, _online, _people = northwind
    html = _client(personas.alice).get(f"/customers/accounts/{group.pk}/").content.decode()
    # Alice (North): five respondents. Robin 4 and Omar 2 detract, Priya 10 and Lena 9 promote, Tom 7 is passive.
    assert '<dd id="account-nps">0.0 <span class="muted">5 respondents</span></dd>' in html
    # Weighted: promoters 2 + 3, detractors 3 + 1, of 3 + 2 + 1 + 3 + 1 = 10.
    assert '<dd id="account-weighted-nps">10.0</dd>' in html
    assert '<dd id="account-days">10</dd>' in html
    assert '<tr id="coverage-user"><td>User</td><td>2</td><td>2</td></tr>' in html
    assert "Zed" not in html  # South's contact is not Alice's to see
    owner = _client(personas.mia).get(f"/customers/accounts/{group.pk}/").content.decode()
    assert "Zed" in owner and '<tr id="coverage-user"><td>User</td><td>3</td><td>2</td></tr>' in owner
    assert '<dd id="account-days">10</dd>' in owner  # Zed answered 5 days ago, in South: not counted for Mia


def test_an_account_with_nothing_visible_is_404(personas, northwind):
    group, _online, _people = northwind
    acme = AccountFactory(name="Acme Logistics")
    outsider = UserFactory(username="olga")
    assert _client(outsider).get(f"/customers/accounts/{group.pk}/").status_code == 404
    assert _client(personas.alice).get(f"/customers/accounts/{acme.pk}/").status_code == 404
    assert "Acme" not in _client(personas.alice).get("/customers/accounts/").content.decode()
    assert "Acme" in _client(personas.adam).get("/customers/accounts/").content.decode()


@pytest.mark.parametrize("n_contacts", [3, 300])
def test_the_account_page_costs_the_same_queries_for_3_or_300_contacts(
        personas, django_assert_max_num_queries, n_contacts):
    account = AccountFactory(name="Big Co", owner=personas.alice)
    for i in range(n_contacts):
        customer = make_customer(f"Person {i}", email=f"p{i}@example.com")
        make_response(customer=customer, team=personas.north, nps=i % 11)
        contact_set(account_id=account.pk, customer_id=customer.pk, role=["decision_maker", "user"][i % 2])
    client = _client(personas.alice)
    with django_assert_max_num_queries(ACCOUNT_PAGE_QUERIES):
        response = client.get(f"/customers/accounts/{account.pk}/")
    assert response.status_code == 200
    assert response.content.decode().count('<td><a href="/customers/') == min(100, n_contacts)


def test_an_account_seen_only_through_an_old_answer_or_a_case_is_shown_with_its_figures(personas, api_client):
    """Whether someone who is not the owner may see the account is judged from the rows the page
    reads (each contact's newest answer of any age, their cases), not by a query of its own: an
    answer three years old still makes the account visible (and is its last answer, outside the
    12 months the NPS counts), and so does a case of the viewer's team on an answer of another team."""
    now = timezone.now()
    old = AccountFactory(name="Old Timers", owner=personas.mia)
    olga = make_customer("Olga", email="olga@example.com")
    make_response(customer=olga, team=personas.north, nps=10, answered_at=now - dt.timedelta(days=3 * 365))
    contact_set(account_id=old.pk, customer_id=olga.pk, role="decision_maker")
    html = _client(personas.alice).get(f"/customers/accounts/{old.pk}/").content.decode()
    assert f'<dd id="account-days">{3 * 365}</dd>' in html
    assert '<dd id="account-nps">— <span class="muted">0 respondents</span></dd>' in html
    assert '<tr id="coverage-decision_maker"><td>Decision maker</td><td>1</td><td>0</td></tr>' in html
    assert _client(personas.charlie).get(f"/customers/accounts/{old.pk}/").status_code == 404  # South: nothing of theirs
    api_client.force_authenticate(personas.alice)
    assert api_client.get(f"/api/v1/accounts/{old.pk}/").json()["days_since_last_answer"] == 3 * 365

    cased = AccountFactory(name="Cased Co", owner=personas.mia)
    cara = make_customer("Cara", email="cara@example.com")
    case = make_case(personas.north, customer=cara, nps=2)
    SurveyResponse.objects.filter(pk=case.response_id).update(team=personas.south)  # the answer is South's, the case North's
    contact_set(account_id=cased.pk, customer_id=cara.pk, role="user")
    html = _client(personas.alice).get(f"/customers/accounts/{cased.pk}/").content.decode()
    assert '<dd id="account-open-cases">1</dd>' in html and ">Cara</a>" in html
    assert '<dd id="account-days">never answered</dd>' in html  # South's answer is not Alice's to read
    assert api_client.get(f"/api/v1/accounts/{cased.pk}/").json()["open_cases"] == 1


def test_the_account_pages_trend_is_the_trend_of_its_contacts_answers(personas):
    """The account page reads its trend in the same pass as its contacts' newest answers (window
    aggregates per month); it must be what monthly_trends reads over the same responses: the
    latest 24 months that have answers (here 26 months with answers over 40, with gaps), NPS, CSAT
    as % of each answer's scale and CES, only the viewer's teams."""
    from customers.selectors import account_page, visible_responses
    from customers.selectors.trends import monthly_trends

    account = AccountFactory(name="Trendy", owner=personas.mia)
    people = [make_customer(f"T{i}", email=f"t{i}@example.com") for i in range(3)]
    now = timezone.now()
    source, survey = source_and_survey()
    rows = []
    for month in range(40):
        if month % 3 == 1:  # a gap every third month: the 24 latest months with answers span 36
            continue
        for i, person in enumerate(people):
            rows.append(SurveyResponse(
                source=source, survey=survey, customer=person, team=personas.south if (month + i) % 5 == 0 else personas.north,
                external_id=f"t-{month}-{i}", answered_at=now - dt.timedelta(days=30 * month + i), nps=(month * 3 + i) % 11,
                csat=(month + i) % 5 + 1, csat_scale_min=1, csat_scale_max=5 if i else 10, ces=(month + 2 * i) % 7 + 1))
    SurveyResponse.objects.bulk_create(rows)
    for person in people:
        contact_set(account_id=account.pk, customer_id=person.pk, role="user")
    for user in (personas.alice, personas.mia, personas.adam):
        page = account_page(user, account)
        expected = monthly_trends(visible_responses(user, [p.pk for p in people]))
        assert [t.metric for t in page.trends] == ["nps", "csat", "ces"]
        assert page.trends == expected
        assert len(page.trends[0].points) == 24
