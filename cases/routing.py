"""Which team owns a response (and the case it may open): ordered RoutingRules, first match wins,
the default team catches the rest.

    route(response) -> Team
    matching_rule(response) -> RoutingRule | None

A rule's empty list means "any". Strings compare case-insensitively; `locations` matches the
response's location or its region; `metrics` matches when the response carries any of them
(nps/csat/ces or a question key in `scores`)."""

from __future__ import annotations

import logging
import uuid

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from accounts.models import Team
from cases.models import RoutingRule

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


def rule_matches(rule: RoutingRule, response, survey_ids: set[int] | None = None) -> bool:
    """Pure check of one rule against one response (survey_ids: the rule's surveys, prefetched)."""
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
    return True


VERSION_KEY = "cases:routing-rules-version"
_cache: dict = {"version": None, "rules": None}


def rules_changed() -> None:
    """Invalidate every process's cached rules (a new version token in the shared cache)."""
    _cache["version"] = None
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:  # noqa: BLE001
        logger.warning("cache unavailable; other processes keep their routing rules until it returns")


def _version():
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
            version = cache.get(VERSION_KEY)
    except Exception:  # noqa: BLE001 - without the shared cache, read the rules every time
        logger.warning("cache unavailable; routing rules read from the database", exc_info=True)
        return None
    return version


def active_rules() -> list[RoutingRule]:
    """The active rules in order, cached per process until any rule changes (one cache read)."""
    version = _version()
    if _cache["rules"] is None or _cache["version"] != version or version is None:
        _cache["rules"] = list(RoutingRule.objects.filter(active=True).prefetch_related("surveys"))
        for rule in _cache["rules"]:
            rule.survey_ids = frozenset(s.pk for s in rule.surveys.all())
        _cache["version"] = version
    return _cache["rules"]


@receiver([post_save, post_delete], sender=RoutingRule, dispatch_uid="cases.routing.rules_changed")
@receiver(m2m_changed, sender=RoutingRule.surveys.through, dispatch_uid="cases.routing.surveys_changed")
def _on_rule_change(sender, **kwargs):
    _cache["version"] = None  # this process: at once (it may read its own uncommitted change)
    transaction.on_commit(rules_changed)  # the others: once the change is visible to them


def matching_rule(response, rules: list[RoutingRule] | None = None) -> RoutingRule | None:
    for rule in active_rules() if rules is None else rules:
        survey_ids = getattr(rule, "survey_ids", None)
        if rule_matches(rule, response, set(survey_ids) if survey_ids is not None else None):
            return rule
    return None


def default_team() -> Team:
    """The team flagged is_default (the oldest if several); a fresh install gets one made."""
    team = Team.objects.filter(is_default=True).order_by("id").first() or Team.objects.order_by("id").first()
    if team is None:
        logger.warning("no team exists; creating the default team 'Unrouted'")
        team, _ = Team.objects.get_or_create(slug="unrouted", defaults={"name": "Unrouted", "is_default": True})
    return team


def route(response) -> Team:
    """The owning team, read fresh (cached rules hold ids, not teams whose calendars could change)."""
    rule = matching_rule(response)
    return Team.objects.get(pk=rule.team_id) if rule is not None else default_team()
