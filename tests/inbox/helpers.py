"""Test data for the inbox and case page: a response with a customer and an alert, and a case
built from it (plain ORM, so a test can set due times and states directly)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from alerts.models import Alert, AlertRule
from cases.models import Case, RootCause, RootCauseCategory
from surveys.models import Customer, Survey, SurveyResponse, Vendor, WebhookSource
from tests.factories import AlertFactory, CustomerFactory, SurveyFactory, SurveyResponseFactory, WebhookSourceFactory, opened_case

_counter = itertools.count(1)


def source_and_survey() -> tuple[WebhookSource, Survey]:
    source = WebhookSourceFactory(slug="inbox-tests", name="Tests", vendor=Vendor.STANDARD)
    return source, SurveyFactory(source=source, external_id="relational", name="Store visit")


def make_customer(name: str = "Dana Whitfield", **extra) -> Customer:
    extra.setdefault("tier", "Gold")
    extra.setdefault("account_value", Decimal("12500"))
    extra.setdefault("phone", "+44 20 7946 0000")
    return CustomerFactory(name=name, **extra)


def make_response(*, customer=None, team=None, nps=3, comment="The queue was far too long.", **extra) -> SurveyResponse:
    source, survey = source_and_survey()
    extra.setdefault("touchpoint", "Checkout")
    extra.setdefault("location", "Leeds")
    extra.setdefault("answered_at", timezone.now() - timedelta(hours=1))
    return SurveyResponseFactory(source=source, survey=survey, customer=customer, team=team, nps=nps,
                                 comment=comment, **extra)


def detractor_rule(**extra) -> AlertRule:
    rule, _ = AlertRule.objects.get_or_create(
        name="NPS detractor", defaults={"metric": "nps", "operator": "lte", "threshold": Decimal("6"), **extra}
    )
    return rule


def make_alert(response) -> Alert:
    return AlertFactory(rule=detractor_rule(), response=response, action="open_case")


def make_case(team, *, assignee=None, nps=3, comment="The queue was far too long.", customer=None,
              priority="normal", first_contact_in=timedelta(hours=4), resolution_in=timedelta(hours=30),
              status=Case.Status.NEW, response_extra=None, **extra) -> Case:
    """A case as the opening service would leave it (with its OPENED event), clocks relative to now."""
    customer = customer if customer is not None else make_customer()
    response = make_response(customer=customer, team=team, nps=nps, comment=comment, **(response_extra or {}))
    now = timezone.now()
    return opened_case(
        reference=f"IX-{next(_counter):05d}", customer=customer, response=response, alert=make_alert(response),
        team=team, assignee=assignee, priority=priority, status=status,
        first_contact_due=now + first_contact_in, resolution_due=now + resolution_in,
        value_at_risk=customer.account_value or 0, **extra,
    )


def root_causes() -> dict[str, RootCause]:
    product, _ = RootCauseCategory.objects.get_or_create(name="Product", defaults={"order": 1})
    service, _ = RootCauseCategory.objects.get_or_create(name="Service", defaults={"order": 2})
    return {
        "defect": RootCause.objects.get_or_create(category=product, name="Defect")[0],
        "wait": RootCause.objects.get_or_create(category=service, name="Long wait")[0],
        "rude": RootCause.objects.get_or_create(category=service, name="Staff attitude")[0],
    }


def open_case(team, *, nps=3, comment="The queue was far too long.", customer=None, priority="normal"):
    """A case opened the way production opens one: an alert on a response, through
    cases.services.case_open_from_alert, routed to `team` by the alert rule."""
    from cases.services import case_open_from_alert

    rule, _ = AlertRule.objects.get_or_create(
        name=f"Detractor for {team.name} ({priority})",
        defaults={"metric": "nps", "operator": "lte", "threshold": Decimal("6"), "case_team": team,
                  "case_priority": priority},
    )
    response = make_response(customer=customer or make_customer(), nps=nps, comment=comment)
    return case_open_from_alert(alert=AlertFactory(rule=rule, response=response, action="open_case"))


def case_rows(page) -> list[str]:
    """The inbox rows of a page (a response or its HTML), one line each, in order."""
    html = page if isinstance(page, str) else page.content.decode()
    return [line for line in html.splitlines() if 'class="case-row' in line]
