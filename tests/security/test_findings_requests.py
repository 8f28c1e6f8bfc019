"""Issue #20 findings on requests a client controls: each test failed before its fix.

- Six URLs answered 500: a custom metric with score_min on responses (a Decimal in a JSON
  comparison), a NUL in a case reference, template=abc on the e-mail draft, dates near 9999-12-31
  or 0001-01-01 on the reports and the scores page.
- The API recorded whatever root-cause suggestions a client claimed were offered.
- The e-mail action accepted a CR/LF subject and counted a contact that could never be sent."""

from __future__ import annotations

import pytest

from tests.factories import api_key_for

from cases.models import Case, CaseEvent, Notification
from tests.factories import SurveyResponseFactory
from tests.security.data import make_customer_story

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(personas):
    return make_customer_story(personas.north, closed=False)


# --- no 500s ----------------------------------------------------------------------------------------


def test_a_custom_metric_with_a_score_range_filters_responses(api_client, personas, story):
    SurveyResponseFactory(source=story.source, survey=story.response.survey, team=personas.north,
                          external_id="q1-high", scores={"q1": {"value": 4}})
    SurveyResponseFactory(source=story.source, survey=story.response.survey, team=personas.north,
                          external_id="q1-low", scores={"q1": {"value": 0.5}})
    api_client.force_authenticate(personas.adam)
    response = api_client.get("/api/v1/responses/?metric=q1&score_min=1")
    assert response.status_code == 200, response.content
    assert [r["external_id"] for r in response.json()["results"]] == ["q1-high"]
    response = api_client.get("/api/v1/responses/?metric=q1&score_min=0.25&score_max=0.75")
    assert [r["external_id"] for r in response.json()["results"]] == ["q1-low"]


@pytest.mark.parametrize("path", ["/cases/CL-1-1%00/", "/cases/CL%00x/playbooks/", "/api/v1/cases/CL%00x/"])
def test_a_nul_in_a_case_reference_is_a_404(client, api_client, personas, story, path):
    client.force_login(personas.adam)
    # A real token: the route refuses the NUL before any view authenticates, so it is the 404
    # handler that answers, and it says 404 only to a caller who brought credentials (else 401).
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(personas.adam)}")
    assert (api_client if path.startswith("/api/") else client).get(path).status_code == 404
    api_client.credentials()
    assert api_client.get(path).status_code == (401 if path.startswith("/api/") else 404)  # pages: Django's 404


# "³" and "٣" pass str.isdigit(); int() or the database refused them and the API answered 500
# (found by the fuzzer on POST /api/v1/action-plans/³/cases/).
@pytest.mark.parametrize("digit", ["%C2%B3", "%D9%A3", "%E2%91%A0"])  # ³, Arabic-Indic three, circled one
@pytest.mark.parametrize("method,path", [
    ("post", "/api/v1/action-plans/{}/cases/"), ("get", "/api/v1/action-plans/{}/"),
    ("get", "/api/v1/customers/{}/"), ("get", "/api/v1/accounts/{}/"), ("get", "/api/v1/cases/{}/"),
    ("get", "/api/v1/teams/{}/"), ("get", "/api/v1/segments/{}/"),
])
def test_a_digit_that_is_not_ascii_in_an_id_is_a_404(api_client, personas, story, digit, method, path):
    # A real token: where the route refuses the character, the 404 handler answers, and only to
    # a caller who brought credentials.
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(personas.adam)}")
    response = getattr(api_client, method)(path.format(digit), {"references": [story.case.reference]}, format="json")
    assert response.status_code == 404, response.content


def test_a_digit_that_is_not_ascii_in_if_match_is_a_400(api_client, personas, story):
    api_client.force_authenticate(personas.adam)
    response = api_client.post(f"/api/v1/cases/{story.case.reference}/note/", {"note": "Called"}, format="json",
                               HTTP_IF_MATCH='"³"')
    assert response.status_code == 400, response.content
    assert response.json()["If-Match"] == ['Send the ETag you received, e.g. "3".']


def test_a_template_that_is_not_an_id_on_the_email_draft_is_a_400(api_client, personas, story):
    api_client.force_authenticate(personas.adam)
    response = api_client.get(f"/api/v1/cases/{story.case.reference}/email-draft/?template=abc")
    assert response.status_code == 400
    assert "whole number" in response.json()["template"][0]


@pytest.mark.parametrize("query", ["date_to=9999-12-31", "date_from=9999-12-31&date_to=9999-12-31",
                                   "date_from=0001-01-01", "date_from=0001-01-01&date_to=0001-01-01"])
@pytest.mark.parametrize("page", ["/reports/scores/", "/reports/kpis/", "/reports/root-causes/", "/reports/recovery/"])
def test_report_pages_answer_far_dates_with_a_message(client, personas, page, query):
    client.force_login(personas.mia)
    response = client.get(f"{page}?{query}")
    assert response.status_code == 200
    assert "Choose a date between 1900-01-01 and 2999-12-31." in response.content.decode()


@pytest.mark.parametrize("query", ["date_to=9999-12-31", "date_from=0001-01-01"])
def test_the_report_api_and_csv_answer_far_dates_without_a_500(client, api_client, personas, query):
    api_client.force_authenticate(personas.mia)
    response = api_client.get(f"/api/v1/reports/root-causes-pareto/?{query}")
    assert response.status_code == 400
    assert "Choose a date between 1900-01-01 and 2999-12-31." in str(response.json())
    client.force_login(personas.mia)
    assert client.get(f"/reports/export/root-causes-pareto.csv?{query}").status_code == 200


# --- root-cause suggestions: only what the server offered is recorded -------------------------------


def _close(api_client, case, **extra):
    from tests.factories import RootCauseFactory

    cause = RootCauseFactory(name="Courier late")
    return api_client.post(f"/api/v1/cases/{case.reference}/close/", {
        "root_cause": cause.pk, "resolution": "Apologised.", "outcome": "resolved", **extra}, format="json")


def test_the_api_refuses_suggestions_a_client_claims_were_offered(api_client, personas, story):
    api_client.force_authenticate(personas.alice)
    claimed = [{"root_cause_id": 1, "confidence": 0.99}]
    response = _close(api_client, story.case, suggestions=claimed)
    assert response.status_code == 400
    assert "offered" in response.json()["suggestions"][0]
    forged = _close(api_client, story.case, offered="W3sicm9vdF9jYXVzZV9pZCI6IDF9XQ:forged:signature")
    assert forged.status_code == 400
    assert "not an `offered` value" in forged.json()["offered"][0]
    case = Case.objects.get(pk=story.case.pk)
    assert (case.status, case.root_cause_suggestions, case.suggestion_taken) == (Case.Status.NEW, [], None)


def test_the_api_records_what_suggested_root_causes_offered(api_client, personas, story):
    from cases.forms import sign_offered

    api_client.force_authenticate(personas.alice)
    body = api_client.get(f"/api/v1/cases/{story.case.reference}/suggested-root-causes/").json()
    assert body["offered"] == ""  # no model trained: nothing offered, nothing to record
    response = _close(api_client, story.case, offered=sign_offered([{"root_cause_id": 424242, "confidence": 0.5}]))
    assert response.status_code == 200, response.content
    case = Case.objects.get(pk=story.case.pk)
    assert (case.root_cause_suggestions, case.suggestion_taken) == ([{"root_cause_id": 424242, "confidence": 0.5}], False)


# --- the e-mail action --------------------------------------------------------------------------------


def _nothing_sent(case):
    """No e-mail queued, no contact attempt added (the story's case has one phone call already)."""
    assert not Notification.objects.filter(case=case).exists()
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.CONTACT).count() == 1
    assert Case.objects.get(pk=case.pk).version == case.version


@pytest.mark.parametrize("subject", ["Sorry\r\nBcc: everyone@example.org", "Sorry\nabout that", "Sorry\rX"])
def test_the_email_action_refuses_a_subject_with_a_line_break(api_client, personas, story, subject):
    api_client.force_authenticate(personas.alice)
    response = api_client.post(f"/api/v1/cases/{story.case.reference}/email/",
                               {"subject": subject, "body": "We are on it."}, format="json")
    assert response.status_code == 400
    assert response.json()["subject"] == ["Keep the subject on one line (no line breaks)."]
    _nothing_sent(story.case)


def test_the_email_action_refuses_an_address_that_can_never_be_sent(api_client, personas, story):
    type(story.customer).objects.filter(pk=story.customer.pk).update(email="ada at example dot org")
    api_client.force_authenticate(personas.alice)
    response = api_client.post(f"/api/v1/cases/{story.case.reference}/email/",
                               {"subject": "Sorry", "body": "We are on it."}, format="json")
    assert response.status_code == 400
    assert "not a valid address" in response.json()["customer"][0]
    _nothing_sent(story.case)


# --- what a manager of another team is told ------------------------------------------------------------


def _datalist(html: str, name: str) -> list[str]:
    import re

    block = re.search(rf'<datalist id="report-{name}-options">(.*?)</datalist>', html, re.S).group(1)
    return re.findall(r'<option value="([^"]*)">', block)


def test_a_south_manager_sees_only_south_values_in_the_report_filter_lists(client, personas):
    from django.utils import timezone

    from accounts.models import Role
    from tests.factories import CustomerFactory, MembershipFactory, make_user

    sam = make_user("sam", role=Role.MANAGER)
    MembershipFactory(user=sam, team=personas.south, is_manager=True)
    now = timezone.now()
    SurveyResponseFactory(team=personas.north, location="Leeds North-only", touchpoint="north-kiosk",
                          answered_at=now, customer=CustomerFactory(tier="north-vip"))
    SurveyResponseFactory(team=personas.south, location="Bristol", touchpoint="delivery",
                          answered_at=now, customer=CustomerFactory(tier="gold"))
    client.force_login(sam)
    # Not cached yet: the page asks for its lists after itself, and holds none.
    html = client.get("/reports/scores/").content.decode()
    assert '<div hx-get="/reports/filter-options/" hx-trigger="load" hx-swap="outerHTML"></div>' in html
    assert "<datalist" not in html
    lists = client.get("/reports/filter-options/").content.decode()
    assert (_datalist(lists, "location"), _datalist(lists, "touchpoint"), _datalist(lists, "tier")) == (
        ["Bristol"], ["delivery"], ["gold"])
    html = client.get("/reports/scores/").content.decode()  # cached now: in the page itself
    assert 'hx-get="/reports/filter-options/"' not in html
    assert (_datalist(html, "location"), _datalist(html, "touchpoint"), _datalist(html, "tier")) == (
        ["Bristol"], ["delivery"], ["gold"])
    client.force_login(personas.adam)  # an admin sees every team's values
    assert _datalist(client.get("/reports/filter-options/").content.decode(), "location") == [
        "Bristol", "Leeds North-only"]
    assert _datalist(client.get("/reports/scores/").content.decode(), "location") == ["Bristol", "Leeds North-only"]
    client.force_login(make_user("agent_ann", role=Role.AGENT))  # the lists are a manager's, as the pages are
    assert client.get("/reports/filter-options/").status_code in (403, 404)


@pytest.mark.parametrize("who", ["adam", "charlie", "nobody", "inactive"])
def test_assign_refuses_anyone_but_an_active_member_without_naming_them(api_client, personas, story, who):
    from tests.factories import MembershipFactory, make_user

    if who == "inactive":
        target = make_user("gone", first_name="Gina", last_name="Gone", is_active=False)
        MembershipFactory(user=target, team=personas.north)
        target_id = target.pk
    else:
        target_id = getattr(personas, who).pk if who != "nobody" else 987654
    api_client.force_authenticate(personas.mia)
    response = api_client.post(f"/api/v1/cases/{story.case.reference}/assign/", {"assignee": target_id},
                               format="json")
    assert response.status_code == 400
    assert response.json()["assignee"] == [
        "That person is not a member of North (only the team's active members can be assigned)."]
    assert Case.objects.get(pk=story.case.pk).assignee_id is None
