"""Training on a time split, the held-out figures, scoring, reasons, and "too few churns"."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import call_command

from churn import features
from churn.model import FORMAT, ModelFormatError, Parameters, reliability
from churn.models import ChurnModel, CustomerRisk
from churn.reasons import reason_texts
from churn.services import churn_retrain
from customers.models import Account
from outcomes.models import OutcomeEvent
from surveys.models import Customer
from tests.churn.helpers import NOW, churn_history
from tests.factories import (
    CaseFactory,
    ContactFactory,
    CustomerFactory,
    RootCauseFactory,
    SurveyResponseFactory,
)

pytestmark = pytest.mark.django_db


def test_features_read_scores_trends_cases_and_recency_as_of_the_reference_date():
    customer = CustomerFactory(account_value=999)
    at = NOW - dt.timedelta(days=30)
    SurveyResponseFactory(customer=customer, nps=9, answered_at=at - dt.timedelta(days=100), sentiment=0.5)
    SurveyResponseFactory(customer=customer, nps=7, answered_at=at - dt.timedelta(days=60), sentiment=0.1)
    last = SurveyResponseFactory(
        customer=customer,
        nps=2,
        answered_at=at - dt.timedelta(days=10),
        sentiment=-0.6,
        feedback_kind="review",
    )
    SurveyResponseFactory(customer=customer, nps=0, answered_at=at + dt.timedelta(days=1))  # after `at`: unseen
    cause = RootCauseFactory(name="Rude")
    CaseFactory(
        response=last,
        customer=customer,
        created_at=at - dt.timedelta(days=9),
        root_cause=cause,
        closed_at=at - dt.timedelta(days=3),
        first_contacted_at=at - dt.timedelta(days=8),
        resolution_due=at - dt.timedelta(days=5),
        status="closed",
        outcome="resolved",
        resolution="Sorry.",
    )
    CaseFactory(
        response=last,
        customer=customer,
        created_at=at - dt.timedelta(days=4),
        resolution_due=at - dt.timedelta(days=1),
    )  # open and overdue at `at`
    table = features.feature_table(
        at=at,
        low=customer.pk,
        high=customer.pk,
        root_causes=[cause.pk],
        horizon_days=90,
    )
    row = dict(zip(table.names, table.values[0].tolist(), strict=True))
    assert table.customer_ids.tolist() == [customer.pk]
    assert row == pytest.approx(
        {
            "nps_last": 2.0,
            "nps_trend": 2.0 - 8.0,
            "nps_missing": 0.0,
            "csat_last": np.nan,
            "csat_trend": 0.0,
            "csat_missing": 1.0,
            "ces_last": np.nan,
            "ces_trend": 0.0,
            "ces_missing": 1.0,
            "responses": 3.0,
            "unsolicited": 1.0,
            "sentiment": 0.0,
            "days_since_answer": 10.0,
            "days_since_contact": 8.0,
            "open_cases": 1.0,
            "overdue_cases": 1.0,
            "cases_year": 2.0,
            "account_value": float(np.log1p(999)),
            f"root_cause:{cause.pk}": 1.0,
        },
        nan_ok=True,
    )
    assert table.churned.tolist() == [False]


def test_features_scale_csat_and_ces_and_take_each_metrics_latest_answer_that_has_it():
    """Integer answers divided as real numbers (SQLite divides integers), a CES scale whose high
    end is hard turned round, the latest NPS even when newer answers have none, and a churn of
    the customer's account within the horizon as the label."""
    customer = CustomerFactory()
    at = NOW - dt.timedelta(days=30)
    SurveyResponseFactory(
        customer=customer, answered_at=at - dt.timedelta(days=100), nps=5, csat=4, csat_scale_min=1, csat_scale_max=5,
        ces=2, ces_scale_min=1, ces_scale_max=7, ces_high_is_easy=False,
    )
    SurveyResponseFactory(
        customer=customer, answered_at=at - dt.timedelta(days=50), nps=None, csat=2, csat_scale_min=1, csat_scale_max=5,
    )
    SurveyResponseFactory(
        customer=customer, answered_at=at - dt.timedelta(days=20), nps=None, ces=7, ces_scale_min=1, ces_scale_max=7,
        ces_high_is_easy=True,
    )
    account = Account.objects.create(name="Acme", value=99)
    ContactFactory(account=account, customer=customer)
    OutcomeEvent.objects.create(
        account=account, kind=OutcomeEvent.Kind.CHURN, amount=Decimal(100), currency="EUR",
        occurred_at=at + dt.timedelta(days=40), source="test", external_id="churn-acme",
    )
    table = features.feature_table(at=at, low=customer.pk, high=customer.pk, root_causes=[], horizon_days=90)
    row = dict(zip(table.names, table.values[0].tolist(), strict=True))
    assert {name: row[name] for name in features.BASE_FEATURES[:9]} == pytest.approx(
        {
            "nps_last": 5.0,
            "nps_trend": 0.0,
            "nps_missing": 0.0,
            "csat_last": 0.25,
            "csat_trend": 0.25 - 0.75,
            "csat_missing": 0.0,
            "ces_last": 1.0,
            "ces_trend": 1.0 - (1 - 1 / 6),
            "ces_missing": 0.0,
        }
    )
    assert row["responses"] == 3.0
    assert row["days_since_answer"] == 20.0
    assert row["account_value"] == pytest.approx(float(np.log1p(99)))
    assert table.churned.tolist() == [True]


def test_it_trains_on_the_earlier_period_measures_on_the_later_and_scores_today():
    world = churn_history()
    result = churn_retrain(now=NOW)

    model = ChurnModel.objects.get()
    assert model.subject == "customer"
    assert (model.trained_on, model.churns, model.held_out, model.held_out_churns) == (
        60,
        30,
        90,
        30,
    )
    assert model.auc == 1.0  # the NPS separates churners perfectly in this world
    assert model.base_rate == pytest.approx(30 / 90)
    assert model.brier < 0.05
    assert sum(row["customers"] for row in model.reliability) == 90
    assert model.parameters["format"] == FORMAT
    assert result.as_dict() == {
        "trained": True,
        "model_id": model.pk,
        "scored": 62,
        "auc": 1.0,
        "brier": model.brier,
        "churns": 30,
        "held_out_churns": 30,
        # No churn event names an account here: the accounts' model has nothing to learn from.
        "accounts": {"trained": False, "model_id": None, "scored": 0, "auc": None, "brier": None, "churns": 0,
                     "held_out_churns": 0},
    }

    world.unhappy.refresh_from_db()
    world.happy.refresh_from_db()
    assert world.unhappy.churn_risk > 0.9 and world.happy.churn_risk < 0.1
    risk = CustomerRisk.objects.get(customer=world.unhappy)
    assert risk.risk == world.unhappy.churn_risk and risk.model_id == model.pk
    assert reason_texts(risk.reasons)[0] == "Low latest NPS"
    # An account is not given its contacts' figure: it is scored by the accounts' own model only.
    assert Account.objects.get(pk=world.account.pk).churn_risk is None
    # Gone (churned after their last answer): no score.
    assert Customer.objects.filter(pk__in=[c.pk for c in world.b[:30]], churn_risk__isnull=False).count() == 0
    assert CustomerRisk.objects.count() == 62


def test_retraining_replaces_every_score_and_keeps_the_last_three_models():
    world = churn_history()
    for _ in range(4):
        churn_retrain(now=NOW)
    assert ChurnModel.objects.count() == 3
    newest = ChurnModel.objects.order_by("-created_at", "-id").first()
    assert set(CustomerRisk.objects.values_list("model_id", flat=True)) == {newest.pk}
    assert CustomerRisk.objects.filter(customer=world.unhappy).count() == 1


def test_a_customer_who_leaves_the_population_loses_the_score():
    world = churn_history()
    churn_retrain(now=NOW)
    from outcomes.models import OutcomeEvent

    OutcomeEvent.objects.create(
        customer=world.happy,
        kind="churn",
        amount=0,
        currency="EUR",
        occurred_at=NOW - dt.timedelta(days=1),
        source="test",
        external_id="late",
    )
    churn_retrain(now=NOW)
    world.happy.refresh_from_db()
    assert world.happy.churn_risk is None
    assert not CustomerRisk.objects.filter(customer=world.happy).exists()


def test_too_few_churns_trains_nothing_and_scores_nothing(settings):
    world = churn_history()
    settings.CHURN_MIN_CHURNS = 31
    result = churn_retrain(now=NOW)
    assert result.as_dict() == {
        "trained": False,
        "model_id": None,
        "scored": 0,
        "auc": None,
        "brier": None,
        "churns": 30,
        "held_out_churns": 30,
        "accounts": {"trained": False, "model_id": None, "scored": 0, "auc": None, "brier": None, "churns": 0,
                     "held_out_churns": 0},
    }
    assert ChurnModel.objects.count() == 0
    world.unhappy.refresh_from_db()
    assert world.unhappy.churn_risk is None


def test_the_command_says_what_it_did(settings, capsys):
    churn_history()
    settings.CHURN_MIN_HELD_OUT_CHURNS = 31
    call_command("churn_train")
    assert capsys.readouterr().out.strip().splitlines() == [
        "Customers: not trained: 30 churns in the training period (needs 20), 30 in the held-out period (needs 31).",
        "Accounts: not trained: 0 churns in the training period (needs 20), 0 in the held-out period (needs 31).",
    ]


def test_the_nightly_task_retrains():
    from churn.tasks import churn_retrain_task

    assert churn_retrain_task() == {
        "trained": False,
        "model_id": None,
        "scored": 0,
        "auc": None,
        "brier": None,
        "churns": 0,
        "held_out_churns": 0,
        "accounts": {"trained": False, "model_id": None, "scored": 0, "auc": None, "brier": None, "churns": 0,
                     "held_out_churns": 0},
    }


def test_reliability_bins_count_mean_predicted_and_observed():
    predicted = np.array([0.05, 0.07, 0.55, 0.95])
    observed = np.array([0.0, 1.0, 1.0, 1.0])
    assert reliability(predicted, observed) == [
        {
            "low": 0.0,
            "high": 0.1,
            "customers": 2,
            "predicted": pytest.approx(0.06),
            "observed": 0.5,
        },
        {"low": 0.5, "high": 0.6, "customers": 1, "predicted": 0.55, "observed": 1.0},
        {"low": 0.9, "high": 1.0, "customers": 1, "predicted": 0.95, "observed": 1.0},
    ]


@pytest.mark.parametrize(
    "doc",
    [
        None,
        {"format": "pickle"},
        {
            "format": FORMAT,
            "features": ["a"],
            "mean": [0],
            "scale": [0],
            "coef": [1],
            "intercept": 0,
        },
        {
            "format": FORMAT,
            "features": ["a", "b"],
            "mean": [0],
            "scale": [1],
            "coef": [1],
            "intercept": 0,
        },
        {
            "format": FORMAT,
            "features": ["a"],
            "mean": [0],
            "scale": [1],
            "coef": ["x"],
            "intercept": 0,
        },
    ],
)
def test_stored_parameters_that_are_not_the_format_are_refused(doc):
    with pytest.raises(ModelFormatError):
        Parameters.from_json(doc)


def test_reasons_are_the_largest_positive_contributions_as_json():
    from churn.model import reasons_json

    names = ["nps_last", "open_cases", "sentiment", "nps_missing"]
    contributions = np.array([[0.9, 0.4, -0.3, 0.005], [-0.1, -0.2, -0.3, 0.0]])
    values = np.array([[2.0, 3.0, -0.5, np.nan], [9.0, 0.0, 0.5, 0.0]])
    mean = np.array([7.0, 0.5, 0.1, 0.2])
    assert reasons_json(contributions, names, values, mean) == [
        '[{"feature":"nps_last","high":false,"contribution":0.9},{"feature":"open_cases","high":true,"contribution":0.4}]',
        "[]",
    ]
