"""Where the risk is used: the customer and account pages (with the held-out figures beside it, or
why there is none), the API, segments (so alert rules, routing, the inbox and reports), and the
inbox's churn order over the copy on open cases."""

from __future__ import annotations

import pytest

from cases.models import Case
from churn.services import churn_retrain
from segments.conditions import CustomerFacts, compile_segment, members
from surveys.models import Customer
from tests.churn.helpers import NOW, churn_history
from tests.factories import PASSWORD, CustomerFactory, SurveyResponseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(personas):
    world = churn_history()
    churn_retrain(now=NOW)
    for customer in (world.unhappy, world.happy):
        customer.refresh_from_db()
    return world


def _page(client, url):
    client.login(username="adam", password=PASSWORD)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_without_outcomes_the_page_says_so_instead_of_scoring(client, personas):
    customer = CustomerFactory()
    SurveyResponseFactory(customer=customer, nps=2)
    html = _page(client, f"/customers/{customer.pk}/")
    assert "No churn risk yet: no business outcomes have been recorded, so there is nothing to learn from." in html
    assert 'id="churn-score"' not in html


def test_with_too_few_churns_the_page_says_how_many(client, personas, settings):
    world = churn_history()
    settings.CHURN_MIN_CHURNS = 100
    churn_retrain(now=NOW)
    html = _page(client, f"/customers/{world.unhappy.pk}/")
    assert (
        "No churn risk yet: too few churns to learn from (60 recorded; the model needs at least 100 in the "
        "training period and 5 in the later period it is checked on)."
    ) in html


def test_the_customer_page_shows_the_risk_its_reasons_and_the_held_out_figures(client, scored):
    html = _page(client, f"/customers/{scored.unhappy.pk}/")
    percent = round(scored.unhappy.churn_risk * 100)
    assert f'<span class="badge badge-danger">{percent} %</span>' in html
    assert "chance of churning within 90 days" in html
    assert '<ul class="history" id="churn-reasons"><li>Low latest NPS</li>' in html
    assert "Checked on a later period the model never saw (90 customers from" in html
    assert "AUC 1.00" in html


def test_without_account_churns_the_account_page_says_so_instead_of_a_contacts_figure(client, scored):
    html = _page(client, f"/customers/accounts/{scored.account.pk}/")
    assert (
        "No churn risk for accounts yet: too few account churns to learn from (0 churn events name an account; "
        "the accounts&#x27; model needs at least 20 in the training period and 5 in the later period it is checked on)."
    ) in html
    assert 'id="churn-score"' not in html


def test_the_api_gives_the_model_the_risks_and_a_customers_reasons(api_client, scored, personas):
    api_client.force_authenticate(personas.adam)
    model = api_client.get("/api/v1/churn/model/").json()
    assert model["why_not"] == ""
    assert (
        model["model"]["auc"],
        model["model"]["trained_on"],
        model["model"]["held_out"],
    ) == (1.0, 60, 90)
    assert model["model"]["features"][:2] == ["nps_last", "nps_trend"]
    risky = api_client.get("/api/v1/customers/", {"min_churn_risk": "0.5"}).json()["results"]
    assert [(row["id"], row["churn_risk"]) for row in risky] == [(scored.unhappy.pk, scored.unhappy.churn_risk)]
    detail = api_client.get(f"/api/v1/churn/customers/{scored.unhappy.pk}/").json()
    assert detail["customer"] == scored.unhappy.pk and detail["reasons"][0] == "Low latest NPS"
    account = api_client.get(f"/api/v1/accounts/{scored.account.pk}/").json()
    assert account["account"]["churn_risk"] is None  # no accounts' model: not its contact's figure
    assert model["accounts"]["model"] is None and model["accounts"]["why_not"].startswith("No churn risk for accounts")
    assert api_client.get("/api/v1/churn/customers/999999/").status_code == 404
    # A malformed id is a 404 too, and only after who is calling is known: a caller who is not
    # signed in is told so (401) whatever the id (the schema fuzzer walks every door anonymously).
    assert [api_client.get(f"/api/v1/churn/customers/{bad}/").status_code for bad in ("-1", "abc", "1e3")] == [404] * 3
    api_client.force_authenticate(None)
    assert [api_client.get(f"/api/v1/churn/customers/{bad}/").status_code for bad in ("-1", "abc", "7")] == [401] * 3


def test_the_api_says_why_there_is_no_model(api_client, personas):
    api_client.force_authenticate(personas.alice)
    nothing = "No churn risk yet: no business outcomes have been recorded, so there is nothing to learn from."
    assert api_client.get("/api/v1/churn/model/").json() == {
        "model": None,
        "why_not": nothing,
        "accounts": {"model": None, "why_not": nothing},
    }


def test_another_teams_customer_is_not_found(api_client, scored, personas):
    api_client.force_authenticate(personas.charlie)
    assert api_client.get(f"/api/v1/churn/customers/{scored.unhappy.pk}/").status_code == 404


def test_a_segment_on_churn_risk_is_what_rules_routing_the_inbox_and_reports_read(
    scored,
):
    conditions = [{"field": "churn_risk", "operator": "gte", "value": 0.5}]
    assert list(members(conditions).values_list("pk", flat=True)) == [scored.unhappy.pk]
    predicate = compile_segment(conditions=conditions)
    assert predicate.matches(CustomerFacts.of(scored.unhappy)) is True
    assert predicate.matches(CustomerFacts.of(scored.happy)) is False
    assert predicate.matches(CustomerFacts.of(CustomerFactory())) is False  # not scored


def test_scoring_copies_the_risk_onto_open_cases_for_the_inbox_order(scored):
    case = Case.objects.get(customer=scored.unhappy)
    assert case.customer_churn_risk == scored.unhappy.churn_risk
    Customer.objects.filter(pk=scored.unhappy.pk).update(churn_risk=None)
    from cases.services import open_cases_churn_risk_refresh

    assert open_cases_churn_risk_refresh() == 1
    case.refresh_from_db()
    assert case.customer_churn_risk == 0
    assert open_cases_churn_risk_refresh() == 0  # nothing changed: nothing written


def test_a_case_opened_for_a_scored_customer_carries_the_risk(personas):
    from tests.inbox.helpers import open_case

    case = open_case(personas.north, nps=1, customer=CustomerFactory(churn_risk=0.42))
    assert Case.objects.get(pk=case.pk).customer_churn_risk == 0.42
    unscored = open_case(personas.north, nps=1, customer=CustomerFactory())
    assert Case.objects.get(pk=unscored.pk).customer_churn_risk == 0
