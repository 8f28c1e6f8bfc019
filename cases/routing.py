"""Which team owns a response (and the case it may open): ordered RoutingRules, first match wins,
the default team catches the rest.

    route(response) -> Team
    route_team_id(response) -> int (no query once the rules are cached)
    matching_rule(response) -> RoutingRule | None

A rule's empty list means "any". Strings compare case-insensitively; `locations` matches the
response's location or its region; `metrics` matches when the response carries any of them
(nps/csat/ces or a question key in `scores`); `segments` matches when the response's customer is
in any of the named segments (segments.conditions' predicate over the customer, with their
accounts' values read in one query only when a segment asks for them)."""

from __future__ import annotations

import copy
import logging

from django.conf import settings
from django.db.models import Case, When
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from accounts.models import ClosedDay, SlaPolicy, Team
from cases.calendar import calendar_for
from cases.models import RoutingRule
from core.process_cache import ProcessCache
from segments.conditions import CustomerFacts, account_values_of
from segments.selectors import compiled as compiled_segment
from segments.signals import segment_changed

logger = logging.getLogger(__name__)


def _norm(values) -> set[str]:
    return {str(v).strip().lower() for v in values or [] if str(v).strip()}


def _metrics_of(response) -> set[str]:
    present = {key.lower() for key in (getattr(response, "scores", None) or {})}
    for metric in ("nps", "csat", "ces"):
        if getattr(response, metric, None) is not None:
            present.add(metric)
    return present


def _customer_tier(response) -> str:
    tier = getattr(response, "customer_tier", None)
    if tier is None:
        customer = getattr(response, "customer", None)
        tier = getattr(customer, "tier", "") if customer is not None else ""
    return (tier or "").strip().lower()


def _customer_facts(response, with_accounts: bool) -> CustomerFacts:
    customer = response.customer if getattr(response, "customer_id", None) is not None else None
    if customer is None:
        return CustomerFacts()
    return CustomerFacts.of(customer, account_values_of(customer.pk) if with_accounts else ())


def rule_segments(rule: RoutingRule) -> tuple:
    """The rule's segments compiled (cached on the rules the routing cache loads)."""
    compiled = getattr(rule, "compiled_segments", None)
    if compiled is None:
        compiled = tuple(compiled_segment(s) for s in rule.segments.all()) if rule.pk else ()
    return compiled


def rule_matches(rule: RoutingRule, response, survey_ids: set[int] | None = None,
                 customer: CustomerFacts | None = None) -> bool:
    """Check of one rule against one response (survey_ids: the rule's surveys, prefetched;
    customer: what segments read, made from response.customer when not given)."""
    if survey_ids is None:
        survey_ids = {s.pk for s in rule.surveys.all()}
    if survey_ids and response.survey_id not in survey_ids:
        return False
    touchpoints = _norm(rule.touchpoints)
    if touchpoints and (response.touchpoint or "").strip().lower() not in touchpoints:
        return False
    locations = _norm(rule.locations)
    if locations and not ({(response.location or "").strip().lower(), (response.region or "").strip().lower()} & locations):
        return False
    channels = _norm(rule.channels)
    if channels and (response.channel or "").strip().lower() not in channels:
        return False
    tiers = _norm(rule.customer_tiers)
    if tiers and _customer_tier(response) not in tiers:
        return False
    metrics = _norm(rule.metrics)
    if metrics and not (metrics & _metrics_of(response)):
        return False
    segments = rule_segments(rule)
    if segments:
        facts = customer or _customer_facts(response, any(s.needs_accounts for s in segments))
        if not any(segment.matches(facts) for segment in segments):
            return False
    return True


VERSION_KEY = "cases:routing-rules-version"


class Routing:
    """What routing and opening a case read for every response, loaded together: the active rules
    in order (with their survey ids), the default team's id (None when there is no team yet),
    every team with its business calendar (closed days included) and the active SLA policies."""

    def __init__(self, rules: list[RoutingRule], default_team_id: int | None, teams: dict[int, Team],
                 sla_policies: list[SlaPolicy]):
        self.rules, self.default_team_id = rules, default_team_id
        self.teams, self.sla_policies = teams, sla_policies


def _load() -> Routing:
    rules = list(RoutingRule.objects.filter(active=True).prefetch_related("surveys", "segments"))
    for rule in rules:
        rule.survey_ids = frozenset(s.pk for s in rule.surveys.all())
        rule.compiled_segments = tuple(compiled_segment(s) for s in rule.segments.all())
    default = _default_team_query().values_list("id", flat=True).first()
    teams = {team.pk: team for team in Team.objects.prefetch_related("closed_days")}
    for team in teams.values():
        team._closed_day_dates = frozenset(day.date for day in team.closed_days.all())
        calendar_for(team)  # built once here, carried by every copy team() hands out
    return Routing(rules, default, teams, list(SlaPolicy.objects.filter(active=True)))


# Per process, checked against a shared version token (core.process_cache), like alert rules.
_routing = ProcessCache(VERSION_KEY, _load, check_seconds=lambda: settings.ALERT_RULES_CHECK_SECONDS,
                        what="routing rules")


def rules_changed() -> None:
    """After any change to routing rules or teams: this process reloads now, the others on their
    next check (within ALERT_RULES_CHECK_SECONDS)."""
    _routing.changed()


def active_rules() -> list[RoutingRule]:
    """The active rules in order, from this process's cache when it is current."""
    return _routing.get().rules


@receiver([post_save, post_delete], sender=RoutingRule, dispatch_uid="cases.routing.rules_changed")
@receiver(m2m_changed, sender=RoutingRule.surveys.through, dispatch_uid="cases.routing.surveys_changed")
@receiver(m2m_changed, sender=RoutingRule.segments.through, dispatch_uid="cases.routing.segments_changed")
@receiver(segment_changed, dispatch_uid="cases.routing.segment_changed")
@receiver([post_save, post_delete], sender=Team, dispatch_uid="cases.routing.teams_changed")
@receiver([post_save, post_delete], sender=ClosedDay, dispatch_uid="cases.routing.closed_days_changed")
@receiver([post_save, post_delete], sender=SlaPolicy, dispatch_uid="cases.routing.sla_policies_changed")
def _on_rule_change(sender, **kwargs):
    rules_changed()


def team(team_id: int) -> Team:
    """A team with its business calendar, from this process's cache (a copy: what a caller sets
    on it stays with the caller); read from the database when the cache does not know it yet."""
    cached = _routing.get().teams.get(team_id)
    return copy.copy(cached) if cached is not None else Team.objects.get(pk=team_id)


def active_sla_policies() -> list[SlaPolicy]:
    """The active SLA policies, from this process's cache (read-only: do not change them)."""
    return _routing.get().sla_policies


def matching_rule(response, rules: list[RoutingRule] | None = None) -> RoutingRule | None:
    rules = active_rules() if rules is None else rules
    customer = None
    wanted = [s for rule in rules for s in rule_segments(rule)]
    if wanted:  # the customer's facts once for every rule (account values only if a segment reads them)
        customer = _customer_facts(response, any(s.needs_accounts for s in wanted))
    for rule in rules:
        survey_ids = getattr(rule, "survey_ids", None)
        if rule_matches(rule, response, set(survey_ids) if survey_ids is not None else None, customer):
            return rule
    return None


def _default_team_query():
    """The team flagged is_default (the oldest if several), else the oldest team."""
    return Team.objects.annotate(flagged=Case(When(is_default=True, then=0), default=1)).order_by("flagged", "id")


def default_team() -> Team:
    """The team flagged is_default (the oldest if several); a fresh install gets one made."""
    team = _default_team_query().first()
    if team is None:
        logger.warning("no team exists; creating the default team 'Unrouted'")
        team, _ = Team.objects.get_or_create(slug="unrouted", defaults={"name": "Unrouted", "is_default": True})
    return team


def route_team_id(response) -> int:
    """The owning team's id, from the cached rules and default team (no query once cached)."""
    rule = matching_rule(response)
    if rule is not None:
        return rule.team_id
    default_id = _routing.get().default_team_id
    return default_id if default_id is not None else default_team().pk


def route(response) -> Team:
    """The owning team (with its calendar, from the cache: every change to a team, its closed
    days or the rules moves the cache's version)."""
    return team(route_team_id(response))
