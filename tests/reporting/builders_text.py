"""Builders for the text-analytics reports (themes, verified recovery, suggestions). Like
tests/reporting/builders.py, rows are written directly with the exact values a hand-computed
expectation needs: reporting only reads."""

from __future__ import annotations

import datetime as dt

from django.utils.text import slugify

from cases.models import Case, CaseEvent
from surveys.models import SurveyResponse, Theme
from tests.factories import CaseEventFactory, ResponseThemeFactory, ThemeFactory
from tests.reporting import builders as b


def theme(name: str, *, status: str = Theme.Status.ACTIVE) -> Theme:
    return ThemeFactory(name=name, slug=slugify(name), status=status)


def tagged(team, *, at: dt.datetime, themes=(), sentiment=None, comment="A comment.", **response) -> SurveyResponse:
    """A response with a comment, a sentiment and theme tags."""
    resp = b.response(team, at=at, **response)
    SurveyResponse.objects.filter(pk=resp.pk).update(comment=comment, sentiment=sentiment)
    for t in themes:
        ResponseThemeFactory(response=resp, theme=t, answered_at=at)
    resp.refresh_from_db()
    return resp


def closure(case: Case, *, at: dt.datetime, outcome: str = Case.Outcome.RESOLVED, root_cause=None,
            suggestions=None, taken=None) -> CaseEvent:
    """The timeline row of one closure (what reporting counts closures by), and the case's own
    record of the suggestions offered at its latest closure."""
    cause = root_cause or case.root_cause
    data = {"root_cause_id": cause.pk if cause else None, "root_cause": str(cause) if cause else "", "outcome": outcome}
    if suggestions is not None:
        data["suggestion_taken"] = bool(taken)
        Case.objects.filter(pk=case.pk).update(root_cause_suggestions=suggestions, suggestion_taken=bool(taken))
    return CaseEventFactory(case=case, kind=CaseEvent.Kind.CLOSED, created_at=at, to_value=outcome, data=data)
