"""Case test data: a response from a customer, an alert on it, a case opened through the service."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from alerts.models import Alert, AlertRule
from cases.models import RootCause
from cases.services import case_open_from_alert
from surveys.models import Customer, SurveyResponse, WebhookSource
from tests.factories import (
    AlertFactory,
    AlertRuleFactory,
    CustomerFactory,
    SurveyResponseFactory,
    WebhookSourceFactory,
)

def make_source() -> WebhookSource:
    return WebhookSourceFactory(slug="test", name="Test", vendor="standard")


def make_customer(**extra) -> Customer:
    extra.setdefault("tier", "")
    extra.setdefault("account_value", Decimal("1200"))
    return CustomerFactory(**extra)


def make_response(customer=None, *, nps=3, comment="The parcel arrived broken.", touchpoint="delivery",
                  location="Leeds", answered_at=None, **extra) -> SurveyResponse:
    if answered_at is not None:
        extra["answered_at"] = answered_at
    return SurveyResponseFactory(source=make_source(), customer=customer, nps=nps, comment=comment,
                                 touchpoint=touchpoint, location=location, **extra)


def make_rule(**extra) -> AlertRule:
    extra.setdefault("name", "Test detractor")
    return AlertRuleFactory(**extra)


def make_alert(response=None, rule=None) -> Alert:
    rule = rule or AlertRule.objects.filter(name="Test detractor").first() or make_rule()
    return AlertFactory(rule=rule, response=response or make_response(make_customer()))


def open_case(response=None, rule=None, at=None, customer=None):
    if response is None:
        response = make_response(customer or make_customer())
    return case_open_from_alert(alert=make_alert(response, rule), at=at)


def root_cause(name="Late") -> RootCause:
    return RootCause.objects.get(name=name)


@pytest.fixture
def case(personas):
    return open_case()


@pytest.fixture
def at_noon():
    """A Wednesday at 12:00 UTC: the default calendar (Mon-Fri 09-17 UTC) is open."""
    return dt.datetime(2026, 3, 11, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Personas are created per test; a slow password hash would dominate the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _taxonomy(request):
    """The seeded root-cause taxonomy (the data migration), also under --nomigrations."""
    if "django_db_setup" not in request.fixturenames and not request.node.get_closest_marker("django_db"):
        return
    import importlib

    from django.apps import apps

    request.getfixturevalue("django_db_blocker")
    if not RootCause.objects.exists():
        importlib.import_module("cases.migrations.0003_seed_root_causes").seed(apps, None)
