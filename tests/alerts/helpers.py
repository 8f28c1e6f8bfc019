"""Alert test data: responses built directly (as surveys.services.response_record would store
them) and rules built through the service."""

from __future__ import annotations

import itertools
from decimal import Decimal
from types import SimpleNamespace

from django.utils import timezone

from alerts import services
from alerts.models import AlertRule
from alerts.selectors import rules_changed
from surveys.models import Customer, Survey, SurveyResponse, WebhookSource

_seq = itertools.count(1)


def source() -> WebhookSource:
    found, _ = WebhookSource.objects.get_or_create(slug="alerts-test", defaults={"name": "Test", "vendor": "standard"})
    return found


def survey(name: str = "Relationship NPS") -> Survey:
    found, _ = Survey.objects.get_or_create(source=source(), external_id=name.lower().replace(" ", "-"),
                                            defaults={"name": name})
    return found


def customer(**extra) -> Customer:
    n = next(_seq)
    values = {"name": f"Customer {n}", "email": f"c{n}@example.com"}
    values.update(extra)
    return Customer.objects.create(**values)


def response(*, nps=None, comment="", survey_name="Relationship NPS", cust=None, answered_at=None,
             **extra) -> SurveyResponse:
    return SurveyResponse.objects.create(
        source=source(), survey=survey(survey_name), customer=cust, external_id=f"r{next(_seq)}",
        answered_at=answered_at or timezone.now(), nps=nps, comment=comment, **extra,
    )


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
