"""Account rules (docs/customers.md, "Account rules"): a decision maker's detractor answer, an
account's NPS falling between two windows, an account gone silent; one case per rule, account and
episode, in the rule's team, assigned to the account's owner when they are in it, the reason on
the timeline; the API and the settings page; the account page's list of those cases."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.test import Client
from django.utils import timezone

from cases.models import Case, CaseEvent
from cases.services import case_close
from cases.timeline import event_note
from customers.models import AccountCase, AccountRule
from customers.selectors.account_page import nps_of
from customers.selectors.account_rules import nps_drops, silences
from customers.services import account_rule_save, account_rules_sweep
from surveys.models import SurveyResponse
from surveys.services import deliveries_process
from tests.customers.conftest import body, stored
from tests.factories import AccountFactory, ContactFactory
from tests.inbox.helpers import make_customer, make_response, root_causes
from tests.surveys.payloads import make_source

pytestmark = pytest.mark.django_db


def rule(personas, kind, **extra) -> AccountRule:
    extra.setdefault("name", f"{kind} rule")
    return account_rule_save(AccountRule(kind=kind, team=personas.north, priority="high", **extra))


def ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def opened_note(case: Case) -> str:
    return event_note(CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.OPENED))


def close(case: Case, personas) -> None:
    case_close(case_id=case.pk, by=personas.adam, root_cause_id=root_causes()["wait"].pk, outcome="resolved",
               resolution="Called the account.")


@pytest.fixture
def acme(personas):
    """Acme, owned by bob (an agent of North)."""
    return AccountFactory(name="Acme Freight", owner=personas.bob)


# --- decision maker is a detractor ----------------------------------------------------------------
def _deliver(source, n: int, nps: int, email: str = "ana@acme.example") -> SurveyResponse:
    now = timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    pk = stored(source, body(f"r-{n}", nps=nps, email=email, name="Ana Ruiz", answered_at=now), f"d-{n}")
    assert deliveries_process(delivery_pks=[pk]) == {pk: "processed"}
    return SurveyResponse.objects.get(external_id=f"r-{n}")


def test_a_decision_makers_detractor_answer_opens_one_case_for_the_owner(personas, acme):
    source = make_source("standard")
    first = _deliver(source, 1, 9)
    ContactFactory(account=acme, customer=first.customer, role="decision_maker")
    rule(personas, "decision_maker_detractor", name="Decision maker unhappy")

    detractor = _deliver(source, 2, 2)
    case = Case.objects.get(account_case__account=acme)
    assert (case.team, case.assignee, case.priority, case.response, case.customer, case.alert) == (
        personas.north, personas.bob, "high", detractor, first.customer, None)
    assert opened_note(case) == ("Opened by account rule “Decision maker unhappy” for Acme Freight: "
                                 "a decision maker answered NPS 2 of 0–10: detractor.")
    assert CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.ASSIGNED).data["mode"] == "account_owner"
    assert AccountCase.objects.get().reasons == {"customer_id": first.customer_id, "role": "decision_maker",
                                                 "nps": 2, "response_id": detractor.pk}

    _deliver(source, 3, 1)  # still open: no second case
    assert AccountCase.objects.count() == 1
    close(case, personas)
    _deliver(source, 4, 0)  # a later breach after the closure: a new episode
    assert AccountCase.objects.count() == 2
    assert Case.objects.filter(account_case__account=acme).exclude(status="closed").count() == 1


def test_a_detractor_who_is_not_a_decision_maker_opens_nothing(personas, acme):
    source = make_source("standard")
    first = _deliver(source, 1, 9)
    ContactFactory(account=acme, customer=first.customer, role="user")
    rule(personas, "decision_maker_detractor")
    _deliver(source, 2, 1)
    assert AccountCase.objects.count() == 0


def test_an_inactive_rule_does_nothing_and_no_rule_costs_no_query(personas, acme, django_assert_num_queries):
    from customers.receivers import judge_account_rules
    from customers.selectors.account_rules import active_account_rules
    from surveys.signals import Recorded

    customer = make_customer("Ana Ruiz")
    ContactFactory(account=acme, customer=customer, role="decision_maker")
    rule(personas, "decision_maker_detractor", active=False)
    response = make_response(customer=customer, team=personas.north, nps=1)
    active_account_rules()  # loaded once per process (and after each change)
    with django_assert_num_queries(0):
        judge_account_rules(sender=SurveyResponse, recorded=Recorded(response=response))
    assert AccountCase.objects.count() == 0


def test_the_owner_outside_the_rules_team_leaves_the_teams_assignment(personas, acme):
    acme.owner = personas.charlie  # South
    acme.save()
    source = make_source("standard")
    first = _deliver(source, 1, 9)
    ContactFactory(account=acme, customer=first.customer, role="decision_maker")
    rule(personas, "decision_maker_detractor")
    _deliver(source, 2, 3)
    case = Case.objects.get(account_case__account=acme)
    assert case.team == personas.north and case.assignee != personas.charlie


# --- NPS drop ---------------------------------------------------------------------------------------
def _answers(account, scores_before: list[int], scores_after: list[int], personas, *, window=30):
    """A contact per score: one answer in the earlier window, one in the last (the same people)."""
    for n, (before, after) in enumerate(zip(scores_before, scores_after)):
        customer = make_customer(f"{account.name} contact {n}")
        ContactFactory(account=account, customer=customer, role="user")
        make_response(customer=customer, team=personas.north, nps=before, answered_at=ago(window + 5))
        make_response(customer=customer, team=personas.north, nps=after, answered_at=ago(5 + n))


def test_an_nps_drop_opens_one_case_with_the_figures(personas, acme):
    _answers(acme, [10, 9, 9], [9, 3, 2], personas)  # +100 -> -33.3
    drop = rule(personas, "nps_drop", name="NPS falls", points=30, window_days=30, min_respondents=3)
    assert account_rules_sweep() == {"nps_drop": 1, "silence": 0}
    case = Case.objects.get(account_case__rule=drop)
    assert (case.assignee, case.response.nps) == (personas.bob, 3)  # the newest detractor answer
    assert AccountCase.objects.get().reasons["nps_before"] == 100.0
    assert opened_note(case) == ("Opened by account rule “NPS falls” for Acme Freight: the account’s NPS fell from "
                                 "100.0 (3 respondents) to -33.3 (3 respondents) over the last 30 days.")
    assert account_rules_sweep() == {"nps_drop": 0, "silence": 0}  # still open
    close(case, personas)
    assert account_rules_sweep() == {"nps_drop": 0, "silence": 0}  # the same answers: the same episode


def test_min_respondents_keeps_one_answer_from_swinging_it(personas, acme):
    _answers(acme, [10, 10], [0, 0], personas)
    rule(personas, "nps_drop", points=10, window_days=30, min_respondents=3)
    assert account_rules_sweep() == {"nps_drop": 0, "silence": 0}


def test_the_sweeps_query_equals_a_per_account_computation(personas):
    accounts = [AccountFactory(name=f"Account {n}") for n in range(4)]
    _answers(accounts[0], [10, 9, 9, 7], [9, 3, 2, 8], personas)
    _answers(accounts[1], [6, 7, 8], [6, 7, 8], personas)
    _answers(accounts[2], [9, 9, 9], [0, 6, 9], personas)
    _answers(accounts[3], [1, 2, 3], [10, 10, 10], personas)
    drop = rule(personas, "nps_drop", points=20, window_days=30, min_respondents=3)
    now = timezone.now()

    expected = {}
    for account in accounts:  # directly: each contact's latest NPS answer in each window
        windows = []
        for start, end in ((now - dt.timedelta(days=60), now - dt.timedelta(days=30)), (now - dt.timedelta(days=30), now)):
            latest = {}
            for r in SurveyResponse.objects.filter(customer__account_contacts__account=account, answered_at__gte=start,
                                                   answered_at__lt=end).order_by("answered_at"):
                latest[r.customer_id] = r.nps
            windows.append(nps_of([(score, 1) for score in latest.values()]))
        if windows[0] - windows[1] >= 20:
            expected[account.pk] = tuple(windows)
    found = {d.account_id: (d.nps_before, d.nps_after) for d in nps_drops(drop, now=now)}
    assert found == expected == {accounts[0].pk: (75.0, -25.0), accounts[2].pk: (100.0, -33.3)}


# --- silence ------------------------------------------------------------------------------------------
def test_silence_opens_for_an_account_that_stopped_answering_not_one_that_never_did(personas, acme):
    quiet = make_customer("Quiet contact")
    ContactFactory(account=acme, customer=quiet, role="influencer")
    last = make_response(customer=quiet, team=personas.north, nps=8, answered_at=ago(100))
    make_response(customer=quiet, team=personas.north, nps=9, answered_at=ago(200))
    never = AccountFactory(name="Never answered")
    ContactFactory(account=never, role="decision_maker")
    chatty = AccountFactory(name="Chatty")
    talker = make_customer("Talker")
    ContactFactory(account=chatty, customer=talker)
    make_response(customer=talker, team=personas.north, nps=9, answered_at=ago(3))
    silent = rule(personas, "silence", name="Gone quiet", window_days=90)

    assert [(s.account_id, s.response_id) for s in silences(silent, now=timezone.now())] == [(acme.pk, last.pk)]
    assert account_rules_sweep() == {"nps_drop": 0, "silence": 1}
    case = Case.objects.get(account_case__rule=silent)
    assert (case.response, case.assignee) == (last, personas.bob)
    assert opened_note(case) == ("Opened by account rule “Gone quiet” for Acme Freight: "
                                 "no contact has answered for 100 days.")
    assert account_rules_sweep() == {"nps_drop": 0, "silence": 0}


def test_the_sweep_reads_the_breaches_answers_in_one_query_per_rule(personas):
    silent = rule(personas, "silence", name="Gone quiet", window_days=90)
    for n in range(3):
        account = AccountFactory(name=f"Quiet {n}")
        contact = make_customer(f"Quiet contact {n}")
        ContactFactory(account=account, customer=contact, role="user")
        make_response(customer=contact, team=personas.north, nps=8, answered_at=ago(100 + n))
    with CaptureQueriesContext(connection) as queries:
        assert account_rules_sweep() == {"nps_drop": 0, "silence": 3}
    reads = [q["sql"] for q in queries.captured_queries
             if q["sql"].startswith("SELECT") and 'FROM "surveys_surveyresponse"' in q["sql"]]
    assert len(reads) == 1, reads
    assert Case.objects.filter(account_case__rule=silent).count() == 3


def test_inactive_sweep_rules_do_nothing(personas, acme):
    quiet = make_customer("Quiet contact")
    ContactFactory(account=acme, customer=quiet)
    make_response(customer=quiet, team=personas.north, nps=8, answered_at=ago(100))
    rule(personas, "silence", window_days=90, active=False)
    assert account_rules_sweep() == {"nps_drop": 0, "silence": 0}


# --- the account page and the case page -----------------------------------------------------------------
def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_account_page_lists_the_rule_cases_the_viewer_may_see(personas, acme):
    quiet = make_customer("Quiet contact")
    ContactFactory(account=acme, customer=quiet)
    answer = make_response(customer=quiet, team=personas.south, nps=8, answered_at=ago(100))
    rule(personas, "silence", name="Gone quiet", window_days=90)
    account_rules_sweep()
    case = Case.objects.get()
    answer.refresh_from_db()
    assert (case.team, answer.team) == (personas.north, personas.south)  # an old answer stays in its team's reports
    html = _client(personas.bob).get(f"/customers/accounts/{acme.pk}/").content.decode()
    assert f'href="/cases/{case.reference}/"' in html and "Cases opened by account rules" in html
    acme.owner = personas.charlie  # the owner sees the account, but not North's case
    acme.save()
    html = _client(personas.charlie).get(f"/customers/accounts/{acme.pk}/").content.decode()
    assert "Cases opened by account rules" not in html
    page = _client(personas.bob).get(f"/cases/{case.reference}/").content.decode()
    assert f'<a href="/customers/accounts/{acme.pk}/">Acme Freight</a>' in page
    api = _client(personas.adam).get(f"/api/v1/accounts/{acme.pk}/").json()
    assert [(c["reference"], c["rule"], c["status"]) for c in api["rule_cases"]] == [(case.reference, "Gone quiet", "new")]


# --- the API and the settings page -------------------------------------------------------------------------
def test_the_api_validates_and_only_cx_admins_write(personas):
    adam, mia, alice = _client(personas.adam), _client(personas.mia), _client(personas.alice)
    bad = adam.post("/api/v1/account-rules/", {"name": "X", "kind": "nps_drop", "points": 0, "window_days": 4000,
                                                "team": "north"}, content_type="application/json")
    assert bad.status_code == 400
    assert bad.json() == {"points": ["Ensure this value is greater than or equal to 1."],  # as docs/customers.md says
                          "window_days": ["Ensure this value is less than or equal to 3650."]}
    assert adam.post("/api/v1/account-rules/", {"name": "X", "kind": "sulk", "team": "nowhere"},
                     content_type="application/json").json().keys() == {"kind", "team"}
    made = adam.post("/api/v1/account-rules/", {"name": "Quiet accounts", "kind": "silence", "window_days": 60,
                                                 "team": "north"}, content_type="application/json")
    assert made.status_code == 201
    assert {k: made.json()[k] for k in ("name", "kind", "window_days", "team", "priority", "active")} == {
        "name": "Quiet accounts", "kind": "silence", "window_days": 60, "team": "north", "priority": "high",
        "active": True}
    pk = made.json()["id"]
    assert mia.get("/api/v1/account-rules/").json()["count"] == 1
    assert mia.patch(f"/api/v1/account-rules/{pk}/", {"active": False}, content_type="application/json").status_code == 403
    assert alice.get("/api/v1/account-rules/").status_code == 404
    assert adam.patch(f"/api/v1/account-rules/{pk}/", {"active": False},
                      content_type="application/json").json()["active"] is False
    assert adam.delete(f"/api/v1/account-rules/{pk}/").status_code == 405


def test_the_settings_page_creates_and_switches_off_a_rule(personas):
    adam = _client(personas.adam)
    assert _client(personas.mia).get("/settings/account-rules/").status_code == 404
    refused = adam.post("/settings/account-rules/new/", {"name": "Drop", "kind": "nps_drop", "points": 500,
                                                         "window_days": 30, "min_respondents": 3,
                                                         "team": personas.north.pk, "priority": "high"})
    assert refused.status_code == 422 and AccountRule.objects.count() == 0
    saved = adam.post("/settings/account-rules/new/", {"name": "Drop", "kind": "nps_drop", "points": 20,
                                                       "window_days": 30, "min_respondents": 3,
                                                       "team": personas.north.pk, "priority": "high", "active": "on"})
    assert saved.status_code == 302
    made = AccountRule.objects.get()
    adam.post(f"/settings/account-rules/{made.pk}/toggle/")
    made.refresh_from_db()
    assert made.active is False
    assert "Drop" in adam.get("/settings/account-rules/").content.decode()


def test_changes_are_in_the_audit_trail(api_client, personas):
    from audit.models import AuditEntry

    api_client.force_authenticate(personas.adam)
    created = api_client.post("/api/v1/account-rules/", {"name": "Quiet", "kind": "silence", "team": "north"},
                              format="json").json()
    api_client.patch(f"/api/v1/account-rules/{created['id']}/", {"active": False}, format="json")
    entries = AuditEntry.objects.filter(content_type__model="accountrule").order_by("id")
    assert [(e.action, e.object_repr) for e in entries] == [(AuditEntry.Action.CREATE, "Quiet"),
                                                            (AuditEntry.Action.UPDATE, "Quiet")]
    assert entries[1].changes["active"] == [True, False]
    assert entries[1].actor == personas.adam
