"""Reads for account rules (docs/customers.md, "Account rules"): the active rules, cached per
process like alert rules (core.process_cache; customers.receivers drops the copy on any change),
the accounts that breach an NPS-drop or a silence rule now, each found by one set-based query
over every account (never a query per account), and the cases rules opened for an account.

A breach is judged on the account's own contacts (not the accounts under it: those are judged on
theirs). An account with a case of the rule still open, or whose breach rests on the same
answer as a case of the rule opened before, is left out: one case per episode."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.process_cache import ProcessCache
from customers.models import AccountCase, AccountRule, Contact

VERSION_KEY = "customers:account-rules:version"
# At most this many accounts per rule and sweep (the next sweep, an hour later, takes the rest).
SWEEP_LIMIT = 500


def _load_active() -> tuple[AccountRule, ...]:
    return tuple(AccountRule.objects.filter(active=True).select_related("team").order_by("id"))


_rules = ProcessCache(VERSION_KEY, _load_active, check_seconds=lambda: settings.ALERT_RULES_CHECK_SECONDS,
                      what="account rules")


def active_account_rules() -> tuple[AccountRule, ...]:
    """The active account rules, from this process's copy while it is current (no query)."""
    return _rules.get()


def account_rules_changed() -> None:
    """After any change to account rules: this process reloads now, the others on their next check."""
    _rules.changed()


# --- the sweep's queries -------------------------------------------------------------------------
@dataclass(frozen=True)
class NpsDrop:
    account_id: int
    respondents_before: int
    nps_before: float
    respondents_after: int
    nps_after: float
    response_id: int  # the newest detractor answer among the window's latest answers, else the newest


@dataclass(frozen=True)
class Silence:
    account_id: int
    last_answered_at: dt.datetime
    response_id: int  # the account's last answer


def _tables() -> dict[str, str]:
    from cases.models import Case
    from surveys.models import SurveyResponse

    return {"contact": Contact._meta.db_table, "response": SurveyResponse._meta.db_table,
            "account_case": AccountCase._meta.db_table, "case": Case._meta.db_table}


def _value(instant: dt.datetime):
    return connection.ops.adapt_datetimefield_value(instant)


# Not the rule's case already: one of its cases still open, or one opened for the same answer.
_NOT_OPENED = """NOT EXISTS (SELECT 1 FROM {account_case} ac JOIN {case} k ON k.id = ac.case_id
    WHERE ac.rule_id = %(rule)s AND ac.account_id = b.account_id
      AND (k.status <> 'closed' OR k.response_id = b.response_id))"""

# Each contact's latest NPS answer in each window (the last `window` days, and the `window` days
# before), the account's NPS per respondent in each, as the account page counts it.
_NPS_DROP = """
WITH latest AS (
  SELECT account_id, nps, response_id, answered_at, recent FROM (
    SELECT c.account_id, r.nps, r.id AS response_id, r.answered_at,
           CASE WHEN r.answered_at >= %(mid)s THEN 1 ELSE 0 END AS recent,
           ROW_NUMBER() OVER (PARTITION BY c.account_id, r.customer_id,
                              CASE WHEN r.answered_at >= %(mid)s THEN 1 ELSE 0 END
                              ORDER BY r.answered_at DESC, r.id DESC) AS rn
    FROM {contact} c JOIN {response} r ON r.customer_id = c.customer_id
    WHERE r.nps IS NOT NULL AND r.answered_at >= %(start)s AND r.answered_at < %(now)s
  ) ranked WHERE rn = 1
), figures AS (
  SELECT account_id,
         SUM(1 - recent) AS n_before,
         SUM(CASE WHEN recent = 0 AND nps >= 9 THEN 1 WHEN recent = 0 AND nps <= 6 THEN -1 ELSE 0 END) AS net_before,
         SUM(recent) AS n_after,
         SUM(CASE WHEN recent = 1 AND nps >= 9 THEN 1 WHEN recent = 1 AND nps <= 6 THEN -1 ELSE 0 END) AS net_after
  FROM latest GROUP BY account_id
), breaches AS (
  SELECT account_id, n_before, net_before, n_after, net_after,
         100.0 * net_before / n_before - 100.0 * net_after / n_after AS fall,
         (SELECT l.response_id FROM latest l WHERE l.account_id = f.account_id AND l.recent = 1
          ORDER BY CASE WHEN l.nps <= 6 THEN 0 ELSE 1 END, l.answered_at DESC, l.response_id DESC
          LIMIT 1) AS response_id
  FROM figures f
  WHERE n_before >= %(min)s AND n_after >= %(min)s
)
SELECT b.account_id, b.n_before, b.net_before, b.n_after, b.net_after, b.response_id FROM breaches b
WHERE b.fall >= %(points)s AND """ + _NOT_OPENED + """
ORDER BY b.fall DESC, b.account_id LIMIT %(limit)s
"""


def _nps(net: int, n: int) -> float:
    return round(100.0 * net / n, 1)


def nps_drops(rule: AccountRule, *, now: dt.datetime, limit: int = SWEEP_LIMIT) -> list[NpsDrop]:
    """The accounts whose NPS over the last `window_days` is at least `points` below the NPS over
    the `window_days` before, both with at least `min_respondents` respondents (one query)."""
    window = dt.timedelta(days=rule.window_days)
    params = {"start": _value(now - 2 * window), "mid": _value(now - window), "now": _value(now),
              "min": rule.min_respondents, "points": rule.points, "rule": rule.pk, "limit": limit}
    sql = _NPS_DROP.format(**_tables())
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [NpsDrop(account_id, int(n_before), _nps(net_before, n_before), int(n_after), _nps(net_after, n_after),
                    response_id) for account_id, n_before, net_before, n_after, net_after, response_id in rows]


# Each contact's newest answer (any score; one probe of the customer index per contact), the
# account's newest of them, and that answer.
_SILENCE = """
WITH per_contact AS (
  SELECT c.account_id, c.customer_id,
         (SELECT MAX(r.answered_at) FROM {response} r WHERE r.customer_id = c.customer_id) AS last_at
  FROM {contact} c
), ranked AS (
  SELECT account_id, customer_id, last_at,
         ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY last_at DESC, customer_id DESC) AS rn
  FROM per_contact WHERE last_at IS NOT NULL
), breaches AS (
  SELECT account_id, last_at,
         (SELECT r.id FROM {response} r WHERE r.customer_id = ranked.customer_id
          ORDER BY r.answered_at DESC, r.id DESC LIMIT 1) AS response_id
  FROM ranked WHERE rn = 1 AND last_at < %(cutoff)s
)
SELECT b.account_id, b.last_at, b.response_id FROM breaches b
WHERE """ + _NOT_OPENED + """
ORDER BY b.last_at, b.account_id LIMIT %(limit)s
"""


def silences(rule: AccountRule, *, now: dt.datetime, limit: int = SWEEP_LIMIT) -> list[Silence]:
    """The accounts none of whose contacts has answered for `window_days` (an account that never
    answered is left out: there is no answer to open the case for, and no silence to break)."""
    params = {"cutoff": _value(now - dt.timedelta(days=rule.window_days)), "rule": rule.pk, "limit": limit}
    with connection.cursor() as cursor:
        cursor.execute(_SILENCE.format(**_tables()), params)
        rows = cursor.fetchall()
    return [Silence(account_id, _instant(last_at), response_id) for account_id, last_at, response_id in rows]


def _instant(value) -> dt.datetime:
    """A timestamp read by raw SQL, aware (SQLite returns UTC as text)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, dt.timezone.utc)


# --- the account page ----------------------------------------------------------------------------
def account_rule_cases(user, account_ids: list[int], *, limit: int = 20) -> list[AccountCase]:
    """The cases account rules opened for these accounts that the user's teams may see, open ones
    first, newest first (one query)."""
    from django.db.models import Case as When_, IntegerField, Value, When

    from accounts.selectors import visible_team_ids

    rows = AccountCase.objects.filter(account_id__in=account_ids).select_related("case", "case__team", "rule",
                                                                                 "account")
    team_ids = visible_team_ids(user)
    if team_ids is not None:
        rows = rows.filter(case__team_id__in=team_ids)
    closed = When_(When(case__status="closed", then=Value(1)), default=Value(0), output_field=IntegerField())
    return list(rows.annotate(closed=closed).order_by("closed", "-opened_at", "-id")[:limit])
