"""/api/v1/contact-policy/: what a survey tool calls before it sends, and after."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry
from contactpolicy.models import ContactEvent, ContactPolicy
from tests.factories import CaseFactory, CustomerFactory, SurveyResponseFactory, api_key_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/contact-policy/"


@pytest.fixture
def tool(api_client, personas):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(personas.mia)}")
    return api_client


def test_a_customer_with_an_open_case_is_not_to_be_asked(tool):
    customer = CustomerFactory(email="ana@example.com")
    CaseFactory(response=SurveyResponseFactory(customer=customer))
    answer = tool.get(URL, {"email": "Ana@Example.com"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["may_contact"] is False
    assert body["next_allowed_at"] is None
    assert body["customer"] == customer.pk
    assert [r["code"] for r in body["reasons"]] == ["open_case"]
    assert body["reasons"][0]["message"] == "A case of theirs is open: ask once it is closed."


def test_the_answer_costs_two_queries(tool):
    customer = CustomerFactory(email="ana@example.com")
    SurveyResponseFactory(customer=customer)
    tool.get(URL, {"email": "ana@example.com"})  # the token and policy caches warm
    with CaptureQueriesContext(connection) as queries:
        assert tool.get(URL, {"email": "ana@example.com"}).status_code == 200
    # The token (with its user); then the customer with their cases, contacts and answers in one statement.
    assert len(queries) == 2, [q["sql"] for q in queries]


def test_the_decisions_statement_is_planned_once_per_connection(tool, settings):
    CustomerFactory(email="ana@example.com")
    for _ in range(6):  # psycopg prepares a statement on its fifth run (core.prepared)
        assert tool.get(URL, {"email": "ana@example.com"}).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%surveys_surveyresponse%%'")
        # Behind a transaction-mode pool (TEST_PGBOUNCER=1) nothing is prepared: a prepared
        # statement would outlive the transaction on a server session another client gets next.
        assert cursor.fetchone()[0] == (0 if settings.DATABASE_TRANSACTION_POOLED else 1)


@pytest.mark.parametrize("named", ["email", "customer", "external_id"])
def test_each_way_of_naming_the_customer_reads_their_history(tool, named):
    customer = CustomerFactory(email="ana@example.com", external_id="crm-7")
    CaseFactory(response=SurveyResponseFactory(customer=customer))
    value = {"email": "ANA@example.com", "customer": customer.pk, "external_id": "crm-7"}[named]
    body = tool.get(URL, {named: value}).json()
    assert (body["customer"], [r["code"] for r in body["reasons"]]) == (customer.pk, ["open_case"])


def test_an_address_of_a_merged_customer_answers_for_the_one_they_were_merged_into(tool):
    kept = CustomerFactory(email="ana@example.com")
    merged = CustomerFactory(email="ana.old@example.com", merged_into=kept)
    CaseFactory(response=SurveyResponseFactory(customer=kept))
    body = tool.get(URL, {"email": "ana.old@example.com"}).json()
    assert (body["customer"], [r["code"] for r in body["reasons"]]) == (kept.pk, ["open_case"])
    assert tool.get(URL, {"customer": merged.pk}).json()["customer"] == merged.pk  # an id is taken as given


def test_an_unknown_address_may_be_asked(tool):
    body = tool.get(URL, {"email": "nobody@example.com"}).json()
    assert (body["may_contact"], body["customer"], body["reasons"]) == (True, None, [])


@pytest.mark.parametrize("query, field", [
    ({}, "non_field_errors"),
    ({"email": "a@example.com", "customer": "3"}, "non_field_errors"),
    ({"email": "not an address"}, "email"),
    ({"customer": "0"}, "customer"),
    ({"customer": "99999999999999999999999"}, "customer"),
    ({"external_id": "x\x00y"}, "external_id"),
    ({"email": "a@example.com", "channel": "pigeon"}, "channel"),
    ({"email": "a@example.com", "at": "9999-99-99"}, "at"),
])
def test_bad_questions_get_a_400_that_says_what_to_fix(tool, query, field):
    answer = tool.get(URL, query)
    assert answer.status_code == 400
    assert field in answer.json()


def test_the_shared_serializers_answer_each_thread_its_own_question():
    """The view's serializers are shared by every request and thread (contactpolicy.api): each
    call must give what a fresh serializer gives, with other threads validating at the same time."""
    from concurrent.futures import ThreadPoolExecutor

    from django.http import QueryDict
    from django.utils import timezone
    from rest_framework.exceptions import ValidationError

    from contactpolicy import api, services

    view = api.ContactDecisionView
    at = timezone.now()

    def ask(n):
        query = QueryDict(f"email=c{n}@example.com" if n % 3 else f"customer={n}&email=c{n}@example.com")
        try:
            asked = dict(view.query_serializer.run_validation(query))
        except ValidationError as refused:
            asked = refused.detail
        fresh = api.DecisionQuerySerializer(data=query)
        expected = fresh.validated_data if fresh.is_valid() else fresh.errors
        decision = services.Decision(may_contact=n % 2 == 0, surveys_in_period=n, customer_id=n, time_zone="UTC",
                                     at=at + dt.timedelta(minutes=n),
                                     reasons=(services.Reason("frequency", f"r{n}", at + dt.timedelta(days=n)),))
        return (asked == expected and
                view.decision_serializer.to_representation(decision) == api.DecisionSerializer(decision).data)

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(ask, range(1, 400)))


def test_agents_and_strangers_may_not_ask(api_client, personas):
    assert api_client.get(URL, {"email": "a@example.com"}).status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(personas.alice)}")
    assert api_client.get(URL, {"email": "a@example.com"}).status_code == 404


def test_reporting_invitations_counts_them_once_and_says_which_broke_the_policy(tool):
    customer = CustomerFactory(email="ana@example.com")
    sent = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
    batch = [
        {"email": "ana@example.com", "sent_at": sent.isoformat(), "sender": "mailer", "external_id": "c1:ana"},
        {"email": "ana@example.com", "sent_at": (sent + dt.timedelta(days=1)).isoformat(), "sender": "mailer",
         "external_id": "c2:ana"},
        {"email": "ana@example.com", "sent_at": (sent + dt.timedelta(days=2)).isoformat(), "sender": "mailer",
         "external_id": "c3:ana"},
        {"email": "ana@example.com", "sent_at": (sent + dt.timedelta(days=3)).isoformat(), "sender": "mailer",
         "external_id": "c4:ana"},
    ]
    answer = tool.post(URL + "contacts/", batch, format="json")
    assert answer.status_code == 201
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["created"] * 4
    assert [r["in_breach"] for r in results] == [False, False, False, True]
    assert results[3]["breach_reasons"] == ["frequency"]
    again = tool.post(URL + "contacts/", batch[:1], format="json")
    assert again.json()["results"][0]["status"] == "known"
    assert ContactEvent.objects.filter(customer=customer).count() == 4


def test_a_batch_with_bad_items_keeps_the_good_ones(tool):
    CustomerFactory(email="ana@example.com")
    answer = tool.post(URL + "contacts/", [
        {"email": "ana@example.com", "sent_at": "2026-06-01T09:00:00Z", "sender": "mailer"},
        {"email": "who@example.com", "sent_at": "2026-06-01T09:00:00Z", "sender": "mailer"},
        {"sent_at": "2026-06-01T09:00:00Z", "sender": "mailer"},
        "not an object",
    ], format="json")
    assert answer.status_code == 207
    body = answer.json()
    assert [r["status"] for r in body["results"]] == ["created", "error", "error", "error"]
    assert "customer" in body["results"][1]["errors"]
    assert body["errors"] == 3
    assert ContactEvent.objects.count() == 1


def test_an_empty_or_oversized_batch_is_refused(tool):
    assert tool.post(URL + "contacts/", [], format="json").status_code == 400
    item = {"email": "a@example.com", "sent_at": "2026-06-01T09:00:00Z", "sender": "m"}
    assert tool.post(URL + "contacts/", [item] * 501, format="json").status_code == 400


def test_admins_change_the_policy_and_the_trail_records_it(api_client, personas):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(personas.adam)}")
    answer = api_client.patch(URL + "settings/", {"max_surveys": 1, "quiet_hours": True,
                                                  "default_time_zone": "Europe/Madrid"}, format="json")
    assert answer.status_code == 200
    assert answer.json()["max_surveys"] == 1
    policy = ContactPolicy.objects.get()
    assert (policy.max_surveys, policy.quiet_hours, policy.default_time_zone) == (1, True, "Europe/Madrid")
    entry = AuditEntry.objects.filter(content_type__model="contactpolicy").latest("pk")
    assert entry.actor == personas.adam
    assert entry.changes["max_surveys"] == [3, 1]
    bad = api_client.patch(URL + "settings/", {"default_time_zone": "Mars/Olympus"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["default_time_zone"] == ["Not a time zone: use an IANA name such as Europe/Madrid."]
    assert api_client.patch(URL + "settings/", {"period_days": 0}, format="json").status_code == 400


def test_managers_read_the_policy_but_may_not_change_it(tool):
    assert tool.get(URL + "settings/").json()["max_surveys"] == 3
    assert tool.patch(URL + "settings/", {"max_surveys": 9}, format="json").status_code == 403


@pytest.mark.parametrize("items", [1, 50])
def test_reporting_contacts_costs_the_same_queries_for_one_or_fifty(tool, items, django_assert_num_queries):
    people = [CustomerFactory(email=f"p{i}@example.com") for i in range(items)]
    sent = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
    CaseFactory(response=SurveyResponseFactory(customer=people[0]), created_at=sent - dt.timedelta(days=1))  # open
    tool.post(URL + "contacts/", [{"customer": people[0].pk, "sent_at": sent.isoformat(), "sender": "warm",
                                   "external_id": "warm"}], format="json")  # the token and policy caches warm
    batch = [{"email": p.email, "sent_at": (sent + dt.timedelta(hours=1)).isoformat(), "sender": "mailer",
              "external_id": f"c1:{p.pk}"} for p in people]
    # The token (with its user), the customers by e-mail, the invitations already known, their
    # cases, contacts and answers, the insert (in a savepoint: two more).
    with django_assert_num_queries(9):
        answer = tool.post(URL + "contacts/", batch, format="json")
    assert answer.status_code == 201
    results = answer.json()["results"]
    assert [(r["status"], r["breach_reasons"]) for r in results] == [("created", ["open_case"])] + [
        ("created", [])] * (items - 1)
    assert ContactEvent.objects.filter(sender="mailer").count() == items
