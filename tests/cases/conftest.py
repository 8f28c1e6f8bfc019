"""Case test data: a response from a customer, an alert on it, a case opened through the service."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertRule
from cases.models import RootCause
from cases.services import case_open_from_alert
from surveys.models import Customer, Survey, SurveyResponse, WebhookSource

_seq = itertools.count(1)


def make_source() -> WebhookSource:
    source, _ = WebhookSource.objects.get_or_create(slug="test", defaults={"name": "Test", "vendor": "standard"})
    return source


def make_customer(**extra) -> Customer:
    n = next(_seq)
    defaults = {"name": f"Customer {n}", "email": f"customer{n}@example.com", "tier": "", "account_value": Decimal("1200")}
    defaults.update(extra)
    return Customer.objects.create(**defaults)


def make_response(customer=None, *, nps=3, comment="The parcel arrived broken.", touchpoint="delivery",
                  location="Leeds", answered_at=None, **extra) -> SurveyResponse:
    source = make_source()
    survey, _ = Survey.objects.get_or_create(source=source, external_id="s1", defaults={"name": "Relationship NPS"})
    return SurveyResponse.objects.create(
        source=source, survey=survey, customer=customer, external_id=f"r{next(_seq)}",
        answered_at=answered_at or timezone.now(), nps=nps, comment=comment, touchpoint=touchpoint,
        location=location, **extra,
    )


def make_rule(**extra) -> AlertRule:
    defaults = {"name": "Test detractor", "metric": "nps", "operator": "lte", "threshold": Decimal("6")}
    defaults.update(extra)
    return AlertRule.objects.create(**defaults)


def make_alert(response=None, rule=None) -> Alert:
    rule = rule or AlertRule.objects.filter(name="Test detractor").first() or make_rule()
    response = response or make_response(make_customer())
    return Alert.objects.create(rule=rule, response=response, action=rule.action,
                                reasons=[f"NPS {response.nps} is at most 6"])


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
