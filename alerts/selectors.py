"""Reads for alerts: the cached active rules, rule and alert lists, and what an alert's e-mail
goes to.

The active-rule cache
---------------------
Every process keeps the compiled active rules (alerts.rules.RuleSet) in memory together with the
version token it loaded them under. A change to any AlertRule (post_save, post_delete,
m2m_changed; see alerts.receivers) drops this process's copy at once and writes a new token to
the shared Redis cache, again after the transaction commits (so another process that reloaded
in between, still seeing the old rows, reloads once more).

Other processes notice the new token when they next check it. The check is a single Redis GET,
and it is made at most once every ALERT_RULES_CHECK_SECONDS (default 2 s; 0 in tests): between
checks, loading rules costs nothing at all, neither a query nor a round trip to Redis, and a
change reaches every worker within that interval. Once cached, the rules cost zero database
queries per response (tests/alerts/test_rule_cache.py asserts it). If Redis is unreachable the
rules are reloaded from the database at each check instead: slower, never stale.

Writes that bypass model signals (QuerySet.update, raw SQL) must call `rules_changed()`; so must
a change to a rule's themes made outside alerts.services (which calls it). A theme's own keywords
are not part of a compiled rule (rules hold theme ids; surveys tags the response), so theme edits
need no rule reload.
"""

from __future__ import annotations

import logging

from django.conf import settings

from alerts.models import Alert, AlertRule
from alerts.rules import RuleSet, compile_rule
from core.process_cache import ProcessCache

logger = logging.getLogger(__name__)

VERSION_KEY = "alerts:rules:version"


def load_active_rules() -> RuleSet:
    """Compile the active rules from the database (four queries: rules, their surveys, themes and segments)."""
    rules = list(AlertRule.objects.filter(active=True).prefetch_related("surveys", "themes", "segments")
                 .order_by("order", "id"))
    return RuleSet((compile_rule(rule) for rule in rules), models={rule.pk: rule for rule in rules})


_rules = ProcessCache(VERSION_KEY, load_active_rules, check_seconds=lambda: settings.ALERT_RULES_CHECK_SECONDS,
                      what="alert rules")


def active_rules() -> RuleSet:
    """The compiled active rules, from this process's cache when it is current."""
    return _rules.get()


def rules_changed() -> None:
    """Call after any change to alert rules: this process reloads now, the others on their next check."""
    _rules.changed()


# --- lists ----------------------------------------------------------------------------------


def rule_list():
    return (
        AlertRule.objects.select_related("case_team", "sla_policy", "notify_team")
        .prefetch_related("surveys", "notify_users", "themes", "segments").order_by("order", "id")
    )


def alert_list_for_user(user):
    """Alerts on responses the user may see (via the response's team); admins see all."""
    from accounts.selectors import visible_team_ids

    qs = Alert.objects.select_related("rule", "response", "response__customer", "response__survey", "praised_user")
    ids = visible_team_ids(user)
    if ids is None:
        return qs
    return qs.filter(response__team_id__in=ids)


def praised_user_for(response):
    """The active user a response names as the staff member who served it, or None.

    Looks at the response attributes a source maps (`staff`, `staff_name`, `staff_email`,
    `staff_member`, `employee`, `served_by`, `agent`) and matches a user by user name, e-mail or
    full name, case-insensitively; an ambiguous name matches nobody."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q, Value
    from django.db.models.functions import Concat, Lower

    attributes = response.attributes or {}
    named = next(
        (str(attributes[k]).strip() for k in STAFF_ATTRIBUTES if isinstance(attributes.get(k), (str, int)) and
         str(attributes[k]).strip()),
        "",
    )
    if not named:
        return None
    User = get_user_model()
    lowered = named.lower()
    candidates = list(
        User.objects.filter(is_active=True)
        .annotate(full=Lower(Concat("first_name", Value(" "), "last_name")))
        .filter(Q(username__iexact=named) | Q(email__iexact=named) | Q(full=lowered))[:2]
    )
    return candidates[0] if len(candidates) == 1 else None


STAFF_ATTRIBUTES = ("staff", "staff_name", "staff_email", "staff_member", "employee", "served_by", "agent")


def alert_email_recipients(alert: Alert) -> list:
    """Who an alert's e-mail goes to (active users with an address), in a stable order.

    notify: the rule's named users and the members of its notify team. praise: the staff member
    the response names, else the rule's notify team, else its case team, else the response's team."""
    from accounts.models import Membership

    rule = alert.rule
    users = []
    if alert.action == AlertRule.Action.NOTIFY:
        users = list(rule.notify_users.all())
        if rule.notify_team_id:
            users += [m.user for m in Membership.objects.filter(team_id=rule.notify_team_id).select_related("user")]
    elif alert.action == AlertRule.Action.PRAISE:
        if alert.praised_user_id:
            users = [alert.praised_user]
        else:
            team_id = rule.notify_team_id or rule.case_team_id or alert.response.team_id
            if team_id:
                users = [m.user for m in Membership.objects.filter(team_id=team_id).select_related("user")]
    seen, recipients = set(), []
    for user in sorted(users, key=lambda u: u.pk):
        if user.pk not in seen and user.is_active and user.email:
            seen.add(user.pk)
            recipients.append(user)
    return recipients
