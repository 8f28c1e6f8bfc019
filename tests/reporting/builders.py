"""Plain builders for reporting tests. Reporting only reads, so rows are written directly with
the exact timestamps a hand-computed expectation needs (no services, no clocks); what the case
services store per case for reporting (business-hour durations, the customer's next answer) is
then computed by the same functions they use (cases.services.report_fields)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from alerts.models import Alert, AlertRule
from cases.models import Case, CaseResponse, RootCause
from cases.services import cases_fill_report_fields, cases_link_answer
from surveys.models import Customer, Survey, SurveyResponse, WebhookSource
from tests.factories import (
    AlertFactory,
    CaseFactory,
    CaseResponseFactory,
    CustomerFactory,
    RootCauseCategoryFactory,
    RootCauseFactory,
    SurveyFactory,
    SurveyResponseFactory,
    WebhookSourceFactory,
)

UTC = dt.timezone.utc
_seq = itertools.count(1)


def source() -> WebhookSource:
    return WebhookSourceFactory(slug="test", name="Test", vendor="standard")


def survey(name: str = "Relationship") -> Survey:
    return SurveyFactory(source=source(), external_id=name, name=name)


def customer(name: str = "", tier: str = "", value=None) -> Customer:
    extra = {"name": name} if name else {}
    return CustomerFactory(tier=tier, account_value=Decimal(value) if value is not None else None, **extra)


def response(team, *, at: dt.datetime, nps=None, csat=None, csat_scale=(1, 5), ces=None, ces_scale=(1, 7),
             ces_high_is_easy=None, touchpoint="Store", location="Leeds", who=None, on_survey=None) -> SurveyResponse:
    resp = SurveyResponseFactory(
        source=source(),
        survey=on_survey or survey(),
        customer=who,
        answered_at=at,
        nps=nps,
        csat=Decimal(csat) if csat is not None else None,
        csat_scale_min=csat_scale[0] if csat is not None else None,
        csat_scale_max=csat_scale[1] if csat is not None else None,
        ces=Decimal(ces) if ces is not None else None,
        ces_scale_min=ces_scale[0] if ces is not None else None,
        ces_scale_max=ces_scale[1] if ces is not None else None,
        ces_high_is_easy=ces_high_is_easy,
        touchpoint=touchpoint,
        location=location,
        team=team,
    )
    cases_link_answer(response=resp)  # what cases.receivers does when a response is recorded
    return resp


def cause(name: str, category: str = "Delivery") -> RootCause:
    return RootCauseFactory(category=RootCauseCategoryFactory(name=f"T {category}"), name=name)


def case(team, *, created: dt.datetime, resp=None, first_contact_due=None, resolution_due=None,
         contacted=None, closed=None, root_cause=None, prevention="", reopen_count=0, assignee=None,
         escalation_level=0, value="0", who=None) -> Case:
    resp = resp or response(team, at=created, nps=2, who=who)
    is_closed = closed is not None
    built = CaseFactory(
        reference=f"CL-T{next(_seq):06d}",
        customer=who or resp.customer,
        response=resp,
        team=team,
        assignee=assignee,
        status=Case.Status.CLOSED if is_closed else (Case.Status.IN_PROGRESS if contacted else Case.Status.NEW),
        created_at=created,
        first_contact_due=first_contact_due or created + dt.timedelta(hours=4),
        resolution_due=resolution_due or created + dt.timedelta(hours=48),
        first_contacted_at=contacted,
        closed_at=closed,
        root_cause=(root_cause or cause("Late")) if is_closed else root_cause,
        resolution="Called and fixed." if is_closed else "",
        outcome=Case.Outcome.RESOLVED if is_closed else "",
        prevention=prevention,
        reopen_count=reopen_count,
        escalation_level=escalation_level,
        value_at_risk=Decimal(value),
    )
    cases_fill_report_fields(case_ids=[built.pk])
    built.refresh_from_db()
    return built


def attach(case_obj: Case, resp: SurveyResponse) -> CaseResponse:
    return CaseResponseFactory(case=case_obj, response=resp)


def open_case_alert(resp: SurveyResponse) -> Alert:
    rule = AlertRule.objects.get_or_create(
        name="Low score", defaults={"threshold": Decimal("6"), "action": AlertRule.Action.OPEN_CASE}
    )[0]
    return AlertFactory(rule=rule, response=resp, action=AlertRule.Action.OPEN_CASE, reasons=["test"])
