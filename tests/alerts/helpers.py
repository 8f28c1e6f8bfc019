"""Alert test data: responses built directly (as surveys.services.response_record would store
them) and rules built through the service."""

from __future__ import annotations

import itertools
from decimal import Decimal
from types import SimpleNamespace

from alerts import services
from alerts.models import AlertRule
from alerts.selectors import rules_changed
from surveys.models import Customer, Survey, SurveyResponse, WebhookSource
from tests.factories import CustomerFactory, SurveyFactory, SurveyResponseFactory, WebhookSourceFactory

_seq = itertools.count(1)


def source() -> WebhookSource:
    return WebhookSourceFactory(slug="alerts-test", name="Test", vendor="standard")


def survey(name: str = "Relationship NPS") -> Survey:
    return SurveyFactory(source=source(), external_id=name.lower().replace(" ", "-"), name=name)


def customer(**extra) -> Customer:
    return CustomerFactory(**extra)


def response(*, nps=None, comment="", survey_name="Relationship NPS", cust=None, answered_at=None,
             **extra) -> SurveyResponse:
    if answered_at is not None:
        extra["answered_at"] = answered_at
    return SurveyResponseFactory(source=source(), survey=survey(survey_name), customer=cust, nps=nps,
                                 comment=comment, **extra)


def rule(**data) -> AlertRule:
    values = {"name": f"Rule {next(_seq)}", "metric": "nps", "operator": "lte", "threshold": Decimal("6")}
    surveys = data.pop("surveys", None)
    notify_users = data.pop("notify_users", None)
    values.update(data)
    return services.rule_create(data=values, surveys=surveys, notify_users=notify_users)


def defaults_off() -> None:
    """Turn the seeded default rules off, so a test sees only its own rules."""
    AlertRule.objects.update(active=False)
    rules_changed()


def fake(**attrs) -> SimpleNamespace:
    """A response-shaped object for the pure evaluator (no database)."""
    values = {
        "nps": None, "csat": None, "csat_scale_min": None, "csat_scale_max": None, "ces": None,
        "ces_scale_min": None, "ces_scale_max": None, "ces_high_is_easy": None, "scores": {}, "comment": "",
        "sentiment": None, "survey_id": 1, "touchpoint": "", "channel": "", "location": "", "region": "",
        "customer_tier": "", "customer_segment": "",
    }
    values.update(attrs)
    return SimpleNamespace(**values)


def draft(**data) -> AlertRule:
    """An unsaved rule (compile with survey_ids=...)."""
    values = {"name": "Draft", "metric": "nps", "operator": "lte", "threshold": Decimal("6")}
    values.update(data)
    return AlertRule(**values)
