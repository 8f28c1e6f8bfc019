"""Alert rules for named segments: raising alerts, the reasons, the cache following a segment's
change, the editor, the API and the backtest."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.db import transaction

from alerts.backtest import backtest
from alerts.models import Alert, AlertRule
from alerts.reasons import describe_reasons
from alerts.selectors import active_rules
from alerts.services import alerts_raise_for_response
from alerts.summary import rule_summary
from segments.models import Segment
from segments.services import segment_save
from tests.alerts.helpers import customer, defaults_off, response, rule
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)


def _segment(name, conditions, match="all"):
    with transaction.atomic():
        return segment_save(Segment(name=name, conditions=conditions, match=match))


@pytest.fixture
def enterprise(db):
    return _segment("Enterprise EMEA", [{"field": "tier", "operator": "equals", "value": "enterprise"},
                                        {"field": "region", "operator": "one_of", "value": ["EMEA", "UK"]}])


@pytest.fixture
def key_accounts(db):
    return _segment("Key accounts", [{"field": "account.value", "operator": "gte", "value": 100000}])


def test_a_rule_for_a_segment_alerts_only_on_its_customers(personas, enterprise):
    defaults_off()
    gold = rule(name="Enterprise detractor")
    gold.segments.add(enterprise)
    inside = response(nps=2, cust=customer(tier="Enterprise", attributes={"region": "uk"}))
    outside_region = response(nps=2, cust=customer(tier="Enterprise", attributes={"region": "APAC"}))
    no_customer = response(nps=2)
    assert [a.rule.name for a in alerts_raise_for_response(response=inside)] == ["Enterprise detractor"]
    assert alerts_raise_for_response(response=outside_region) == []
    assert alerts_raise_for_response(response=no_customer) == []
    reasons = Alert.objects.get(response=inside).reasons
    assert reasons[1] == {"code": "in_segments", "names": ["Enterprise EMEA"]}  # stored as a code (alerts.reasons)
    assert describe_reasons(reasons) == ["NPS 2 is at most 6", "customer is in “Enterprise EMEA”"]


def test_a_rule_for_an_account_value_segment_reads_the_customers_accounts(personas, key_accounts):
    defaults_off()
    rule(name="Key account detractor").segments.add(key_accounts)
    contact = customer()
    ContactFactory(customer=contact, account=AccountFactory(value=Decimal("250000")))
    small = customer()
    ContactFactory(customer=small, account=AccountFactory(value=Decimal("900")))
    assert len(alerts_raise_for_response(response=response(nps=1, cust=contact))) == 1
    assert alerts_raise_for_response(response=response(nps=1, cust=small)) == []


def test_changing_a_segment_recompiles_the_rules_that_use_it(personas, enterprise, django_capture_on_commit_callbacks):
    defaults_off()
    rule(name="Enterprise detractor").segments.add(enterprise)
    apac = customer(tier="Enterprise", attributes={"region": "APAC"})
    assert alerts_raise_for_response(response=response(nps=2, cust=apac)) == []
    active_rules()  # cached now
    enterprise.conditions = [{"field": "tier", "operator": "equals", "value": "enterprise"}]
    with django_capture_on_commit_callbacks(execute=True):
        segment_save(enterprise)
    assert len(alerts_raise_for_response(response=response(nps=2, cust=apac))) == 1


def test_the_summary_names_the_segments(personas, enterprise, key_accounts):
    saved = rule(name="Big detractors", case_team=personas.north)
    saved.segments.set([key_accounts, enterprise])
    assert rule_summary(saved, with_sla=False) == (
        "When NPS is 6 or less for customers in “Enterprise EMEA” or “Key accounts”, open a Normal case for North.")


def test_the_api_sets_segments_by_slug_and_refuses_unknown_ones(api_client, personas, enterprise):
    api_client.force_authenticate(personas.adam)
    created = api_client.post("/api/v1/alert-rules/", {
        "name": "Enterprise detractors", "metric": "nps", "operator": "lte", "threshold": 6,
        "segments": ["enterprise-emea"]}, format="json")
    assert created.status_code == 201 and created.json()["segments"] == ["enterprise-emea"]
    assert list(AlertRule.objects.get(name="Enterprise detractors").segments.all()) == [enterprise]
    assert "for customers in “Enterprise EMEA”" in created.json()["summary"]
    refused = api_client.post("/api/v1/alert-rules/", {
        "name": "Nobody", "metric": "nps", "operator": "lte", "threshold": 6, "segments": ["no-such"]}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"segments": ["Object with slug=no-such does not exist."]}


def test_the_editor_saves_the_segments(client, personas, enterprise):
    client.force_login(personas.adam)
    page = client.get("/alerts/rules/new/")
    assert "Customer in any of these segments" in html.unescape(page.content.decode())
    saved = client.post("/alerts/rules/new/", {
        "name": "Enterprise detractors", "active": "on", "metric": "nps", "operator": "lte", "threshold": "6",
        "keyword_mode": "any", "action": "open_case", "case_priority": "normal", "repeat_window_days": "14",
        "ces_high_is_easy": "on", "segments": [str(enterprise.pk)]})
    assert saved.status_code == 302
    assert list(AlertRule.objects.get(name="Enterprise detractors").segments.all()) == [enterprise]


def test_the_backtest_counts_only_the_segments_customers(personas, enterprise):
    defaults_off()
    inside = customer(tier="enterprise", attributes={"region": "EMEA"})
    outside = customer(tier="smb", attributes={"region": "EMEA"})
    for days_ago in (1, 2, 3):
        response(nps=3, cust=inside, answered_at=NOW - dt.timedelta(days=days_ago))
    response(nps=3, cust=outside, answered_at=NOW - dt.timedelta(days=1))
    response(nps=9, cust=inside, answered_at=NOW - dt.timedelta(days=1))
    draft = AlertRule(name="Draft", metric="nps", operator="lte", threshold=Decimal("6"), action="notify")
    result = backtest(draft, days=30, survey_ids=[], segments=[enterprise], now=NOW)
    assert (result.scanned, result.alerts) == (4, 3)
    assert result.samples[0]["reasons"] == ["NPS 3 is at most 6", "customer is in “Enterprise EMEA”"]


def test_the_backtest_api_takes_a_drafts_segments(api_client, personas, enterprise, key_accounts):
    defaults_off()
    contact = customer()
    ContactFactory(customer=contact, account=AccountFactory(value=Decimal("500000")))
    response(nps=3, cust=contact)
    response(nps=3, cust=customer(tier="smb"))
    api_client.force_authenticate(personas.adam)
    answer = api_client.post("/api/v1/alert-rules/backtest/", {
        "metric": "nps", "operator": "lte", "threshold": 6, "days": 7, "segments": ["key-accounts"]}, format="json")
    assert answer.status_code == 200
    assert (answer.json()["scanned"], answer.json()["alerts"]) == (1, 1)


def test_a_rule_for_customers_at_high_churn_risk(personas):
    """Churn risk (docs/churn-risk.md) read by an alert rule through a segment: no query to evaluate it."""
    defaults_off()
    at_risk = rule(name="Detractor at risk")
    at_risk.segments.add(_segment("High churn risk", [{"field": "churn_risk", "operator": "gte", "value": 0.6}]))
    risky = response(nps=3, cust=customer(churn_risk=0.72))
    calm = response(nps=3, cust=customer(churn_risk=0.2))
    unscored = response(nps=3, cust=customer())
    assert [a.rule.name for a in alerts_raise_for_response(response=risky)] == ["Detractor at risk"]
    assert alerts_raise_for_response(response=calm) == []
    assert alerts_raise_for_response(response=unscored) == []
