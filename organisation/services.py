"""Writes of the settings pages and the API that are not teams (accounts.teams has those): routing
rules, the root-cause taxonomy; and the routing tester, which asks cases.routing itself.

    routing_rule_save(rule, surveys=None, segments=None) -> RoutingRule
    route_test(**response_fields) -> RouteAnswer(team, rule)
    category_save(category), cause_save(cause)
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts.models import Team
from cases import routing
from cases.models import NotificationKind, NotificationPreference, RootCause, RootCauseCategory, RoutingRule
from surveys.models import Customer, Survey, SurveyResponse


@transaction.atomic
def routing_rule_save(rule: RoutingRule, surveys=None, segments=None) -> RoutingRule:
    rule.full_clean()
    rule.save()
    if surveys is not None:
        rule.surveys.set(surveys)
    if segments is not None:
        rule.segments.set(segments)
    return rule


def routing_rule_delete(rule: RoutingRule) -> None:
    rule.delete()


@dataclass(frozen=True)
class RouteAnswer:
    team: Team
    rule: RoutingRule | None  # None: no rule matched, the default team catches it

    @property
    def reason(self) -> str:
        if self.rule is None:
            return f"No rule matches, so the default team “{self.team.name}” gets it."
        return f"Rule #{self.rule.order} “{self.rule.name}” matches first."


def route_test(*, survey: Survey | None = None, touchpoint: str = "", location: str = "", region: str = "",
               channel: str = "", customer_tier: str = "", metric: str = "nps",
               customer: Customer | None = None) -> RouteAnswer:
    """Which team a response carrying these fields would go to, answered by cases.routing's own
    route_team_id (the function ingest uses) on an unsaved response; `customer` (for segments)
    is who it would come from, and their tier unless `customer_tier` is given."""
    response = SurveyResponse(survey_id=survey.pk if survey else None, touchpoint=touchpoint, location=location,
                              region=region, channel=channel, scores={}, customer=customer)
    customer_tier = customer_tier or (customer.tier if customer else "")
    setattr(response, metric, 5)  # any score: the metric condition asks which metrics it carries
    response.customer_tier = customer_tier
    team_id = routing.route_team_id(response)
    return RouteAnswer(Team.objects.get(pk=team_id), routing.matching_rule(response))


def category_save(category: RootCauseCategory) -> RootCauseCategory:
    category.full_clean()
    category.save()
    return category


def cause_save(cause: RootCause) -> RootCause:
    cause.full_clean()
    cause.save()
    return cause



USER_KINDS = [kind for kind in NotificationKind if kind != NotificationKind.CUSTOMER_EMAIL]


@transaction.atomic
def preferences_set(user, wanted: dict[str, bool]) -> None:
    """A person's switch per notification kind (cases.notifications reads them; no row is "on")."""
    for kind in USER_KINDS:
        if kind.value in wanted:
            NotificationPreference.objects.update_or_create(user=user, kind=kind.value,
                                                            defaults={"enabled": wanted[kind.value]})
