"""Accounts have a churn model of their own: trained on churn events naming an account, reading
every contact's answers and cases together, with the account's own risk and reasons on the account
page, in the API, and in segments (so alert rules, routing, the inbox filter and reports)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from churn import features
from churn.models import AccountRisk, ChurnModel
from churn.reasons import reason_texts
from churn.services import churn_retrain
from customers.models import Account
from outcomes.models import OutcomeEvent
from segments.conditions import CustomerFacts, account_values_of, compile_segment, members
from tests.churn.helpers import NOW, account_churn_history
from tests.factories import (
    PASSWORD,
    AccountFactory,
    CaseFactory,
    ContactFactory,
    CustomerFactory,
    SurveyResponseFactory,
)

pytestmark = pytest.mark.django_db


def _event(*, account=None, customer=None, at, key):
    OutcomeEvent.objects.create(account=account, customer=customer, kind="churn", amount=Decimal(10), currency="EUR",
                                occurred_at=at, source="test", external_id=key)


def test_an_accounts_features_read_every_contacts_answers_and_cases_and_its_own_churns():
    at = NOW - dt.timedelta(days=30)
    acme = AccountFactory(name="Acme", value=Decimal("500"))
    early, late = CustomerFactory(account_value=999_999), CustomerFactory()
    ContactFactory(account=acme, customer=early)
    ContactFactory(account=acme, customer=late)
    SurveyResponseFactory(customer=early, nps=9, answered_at=at - dt.timedelta(days=100), sentiment=0.5)
    last = SurveyResponseFactory(customer=late, nps=3, answered_at=at - dt.timedelta(days=10), sentiment=-0.5)
    SurveyResponseFactory(customer=CustomerFactory(), nps=0, answered_at=at - dt.timedelta(days=1))  # no contact
    CaseFactory(response=last, customer=late, status="new", created_at=at - dt.timedelta(days=9),
                resolution_due=at - dt.timedelta(days=2))
    _event(account=acme, at=at + dt.timedelta(days=20), key="acme")
    # Beta's one contact churned on their own: not the account's churn.
    beta = AccountFactory(name="Beta")
    solo = CustomerFactory()
    ContactFactory(account=beta, customer=solo)
    SurveyResponseFactory(customer=solo, nps=10, answered_at=at - dt.timedelta(days=5))
    _event(customer=solo, at=at + dt.timedelta(days=20), key="solo")

    table = features.feature_table(at=at, low=acme.pk, high=beta.pk, root_causes=[], horizon_days=90,
                                   subject=features.ACCOUNT)

    assert table.customer_ids.tolist() == [acme.pk, beta.pk]
    row = dict(zip(table.names, table.values[0].tolist(), strict=True))
    assert (row["nps_last"], row["nps_trend"], row["responses"], row["sentiment"]) == (3.0, -6.0, 2.0, 0.0)
    assert (row["open_cases"], row["overdue_cases"], row["cases_year"]) == (1.0, 1.0, 1.0)
    assert row["days_since_answer"] == pytest.approx(10.0)
    assert row["account_value"] == pytest.approx(float(np.log1p(500)))  # the account's value, not a contact's
    assert table.churned.tolist() == [True, False]


def test_accounts_are_trained_measured_and_scored_by_their_own_model(settings):
    world = account_churn_history()
    result = churn_retrain(now=NOW)

    model = ChurnModel.objects.get(subject="account")
    assert (model.trained_on, model.churns, model.held_out, model.held_out_churns) == (60, 30, 90, 30)
    assert model.auc == 1.0
    assert result.accounts.model_id == model.pk and result.accounts.scored == 62
    acme, initech = AccountRisk.objects.get(account=world.account), AccountRisk.objects.get(account=world.initech)
    assert acme.model_id == model.pk and acme.risk > 0.9 and initech.risk < 0.1
    assert reason_texts(acme.reasons)[0] == "Low latest NPS"
    # The copy segments and the API read is the table's figure, account by account.
    assert dict(Account.objects.filter(churn_risk__isnull=False).values_list("pk", "churn_risk")) == dict(
        AccountRisk.objects.values_list("account_id", "risk"))
    # The detractors' accounts churned after their contact's last answer: gone, not scored.
    assert not AccountRisk.objects.filter(account__in=world.accounts[:30]).exists()


def test_an_account_that_churns_after_its_last_answer_loses_its_score():
    world = account_churn_history()
    churn_retrain(now=NOW)
    _event(account=world.initech, at=NOW - dt.timedelta(days=1), key="initech")
    churn_retrain(now=NOW)
    assert Account.objects.get(pk=world.initech.pk).churn_risk is None
    assert not AccountRisk.objects.filter(account=world.initech).exists()
    assert ChurnModel.objects.filter(subject="account").count() == 2


def test_the_account_page_and_the_api_show_the_accounts_own_risk_and_reasons(client, api_client, personas):
    world = account_churn_history()
    churn_retrain(now=NOW)
    risk = AccountRisk.objects.get(account=world.account).risk

    client.login(username="adam", password=PASSWORD)
    html = client.get(f"/customers/accounts/{world.account.pk}/").content.decode()
    assert f'<span class="badge badge-danger">{round(risk * 100)} %</span>' in html
    assert '<ul class="history" id="churn-reasons"><li>Low latest NPS</li>' in html
    assert "never saw (90 accounts from" in html

    api_client.force_authenticate(personas.adam)
    assert api_client.get(f"/api/v1/churn/accounts/{world.account.pk}/").json() == {
        "account": world.account.pk, "risk": risk, "reasons": reason_texts(AccountRisk.objects.get(
            account=world.account).reasons)}
    risky = api_client.get("/api/v1/accounts/", {"min_churn_risk": "0.5"}).json()["results"]
    assert [(row["id"], row["churn_risk"]) for row in risky] == [(world.account.pk, risk)]
    status = api_client.get("/api/v1/churn/model/").json()
    assert (status["accounts"]["model"]["subject"], status["accounts"]["model"]["held_out"]) == ("account", 90)
    assert status["model"]["subject"] == "customer"
    assert api_client.get("/api/v1/churn/accounts/999999/").status_code == 404
    api_client.force_authenticate(personas.charlie)
    assert api_client.get(f"/api/v1/churn/accounts/{world.account.pk}/").status_code == 404


def test_a_segment_on_account_churn_risk_is_what_rules_routing_the_inbox_and_reports_read():
    world = account_churn_history()
    churn_retrain(now=NOW)
    conditions = [{"field": "account.churn_risk", "operator": "gte", "value": 0.5}]
    assert list(members(conditions).values_list("pk", flat=True)) == [world.unhappy.pk]
    predicate = compile_segment(conditions=conditions)
    assert predicate.needs_accounts is True
    assert predicate.matches(CustomerFacts.of(world.unhappy, account_values_of(world.unhappy.pk))) is True
    assert predicate.matches(CustomerFacts.of(world.happy, account_values_of(world.happy.pk))) is False


def test_the_accounts_risk_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/").content.decode()
    assert "  /api/v1/churn/accounts/{id}/:" in schema
    assert "AccountRisk" in schema
