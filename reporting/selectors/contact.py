"""Contact governance: who was asked too often, and which answers arrived against the policy
(contactpolicy.services holds the rules; docs/contact-policy.md says what each one means).

- over-contacted: customers whose survey contacts in the policy's period, ending at the report's
  end date, exceed what the policy allows (counted exactly as the decision counts them);
- breaches: answers received in the period that the policy would have prevented: while a case of
  the customer's was open (the case the answer itself opened does not count), within the rest
  days after one closed, or beyond the survey limit (the answer was the customer's N+1th or later
  in the period before it). One answer can break several rules: the summary counts each rule,
  and "any rule" once per answer. Both come from one set-based statement (`breaches_found`), so
  they cannot disagree; tests/contactpolicy/test_breaches_exact.py compares it with a direct
  computation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.db import connection, connections, router
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case
from contactpolicy.models import ContactEvent
from contactpolicy.services import current_policy, survey_contacts_many
from reporting.filters import ReportFilters
from reporting.selectors.common import MAX_LIST_ROWS
from reporting.tables import Column, Table, pct
from surveys.models import Customer, SurveyResponse

RULES = [
    ("open_case", _("While a case was open")),
    ("recently_closed", _("Within the rest days after a case closed")),
    ("frequency", _("Over the survey limit")),
]


def _customer_url(pk: int) -> str:
    return reverse("customers:detail", args=[pk])


@dataclass(frozen=True)
class Breaches:
    """The period's answers against the policy (one statement, `breaches_found`): how many answers
    there were, how many broke each rule and any rule, and the newest breaching ones (id and the
    rules each broke), at most MAX_LIST_ROWS. The summary and the list are both read from it."""

    total: int
    counts: dict[str, int]  # rule key -> answers, and "any"
    newest: list[tuple[int, tuple[str, ...]]]


def _minus(connection, column: str, days: int) -> tuple[str, list]:
    """SQL for `column` minus `days` days, exact to the microsecond on both databases (SQLite holds
    times as text: Django's own function does the arithmetic there, as the ORM does)."""
    if connection.vendor == "postgresql":
        return f"({column} - %s)", [dt.timedelta(days=days)]
    return connection.ops.combine_duration_expression("-", [column, "%s"]), [days * 86_400_000_000]


def _flag_sql(filters: ReportFilters, policy, connection) -> tuple[str, list]:
    """One statement: every breaching answer of the period (visible teams) as (id, answered_at,
    open_case, recently_closed, frequency) flags, then one row (NULL, NULL, answers in all). Set-based:
    the period's answers joined once to their customers' cases (those open or closed in reach of the
    period) and once to their customers' answers in the policy period before (read from the period's
    start minus period_days, so the monthly partitions prune), instead of three probes per answer."""
    answers = filters.responses().exclude(customer_id=None).order_by().values("id", "customer_id", "answered_at")
    answers_sql, params = answers.query.get_compiler(connection=connection).as_sql()
    params = list(params)
    adapt = connection.ops.adapt_datetimefield_value
    case_table, response_table = Case._meta.db_table, SurveyResponse._meta.db_table
    branches, branch_params = [], []
    open_sql, open_params = "1 = 0", []
    if policy.open_case_blocks:
        open_sql = ("c.created_at < v.answered_at AND (c.closed_at IS NULL OR c.closed_at > v.answered_at) "
                    "AND (c.response_id IS NULL OR c.response_id <> v.id)")
    rest_sql, rest_params = "1 = 0", []
    if policy.days_after_close:
        rest_from, rest_params = _minus(connection, "v.answered_at", policy.days_after_close)
        rest_sql = f"c.closed_at < v.answered_at AND c.closed_at >= {rest_from}"
    if policy.open_case_blocks or policy.days_after_close:
        # Only cases that can reach the period: open, or closed after its start minus the rest days
        # (two index-only range reads of cases_case_contact_reach).
        cases, reach_params = case_table, []
        if filters.start:
            columns = "customer_id, created_at, closed_at, response_id"
            cases = (f"(SELECT {columns} FROM {case_table} WHERE closed_at IS NULL "
                     f"UNION ALL SELECT {columns} FROM {case_table} WHERE closed_at >= %s)")
            reach_params = [adapt(filters.start - dt.timedelta(days=policy.days_after_close))]
        branches.append(
            f"SELECT v.id AS id, v.answered_at AS answered_at, MAX(CASE WHEN {open_sql} THEN 1 ELSE 0 END) AS open_case, "
            f"MAX(CASE WHEN {rest_sql} THEN 1 ELSE 0 END) AS recently_closed, 0 AS frequency "
            f"FROM v JOIN {cases} c ON c.customer_id = v.customer_id "
            f"WHERE ({open_sql}) OR ({rest_sql}) GROUP BY v.id, v.answered_at")
        branch_params += [*open_params, *rest_params, *reach_params, *open_params, *rest_params]
    if policy.max_surveys:
        period_from, period_params = _minus(connection, "v.answered_at", policy.period_days)
        bounds, bound_params = "", []
        if filters.start:  # literal bounds: the partitions outside them are not read
            bounds += " AND r.answered_at >= %s"
            bound_params.append(adapt(filters.start - dt.timedelta(days=policy.period_days)))
        if filters.end:
            bounds += " AND r.answered_at < %s"
            bound_params.append(adapt(filters.end))
        # The period's customers' answers, read customer by customer from the index (customer,
        # answered_at) rather than every answer of the months (1.6-1.9 s instead of 3.7 s for the
        # bench manager at 10M, EXPLAIN ANALYZE), then matched to each of their answers in the period.
        branches.append(
            f"SELECT v.id AS id, v.answered_at AS answered_at, 0 AS open_case, 0 AS recently_closed, 1 AS frequency "
            f"FROM v JOIN (SELECT r.customer_id, r.answered_at FROM {response_table} r "
            f"WHERE r.customer_id IN (SELECT customer_id FROM v){bounds}) r ON r.customer_id = v.customer_id "
            f"WHERE r.answered_at < v.answered_at AND r.answered_at >= {period_from} "
            f"GROUP BY v.id, v.answered_at HAVING COUNT(*) >= %s")
        branch_params += [*bound_params, *period_params, policy.max_surveys]
    flagged = ""
    if branches:
        flagged = (f"SELECT f.id, f.answered_at, MAX(f.open_case), MAX(f.recently_closed), MAX(f.frequency) FROM ("
                   f"{' UNION ALL '.join(branches)}) f GROUP BY f.id, f.answered_at "
                   f"UNION ALL ")
    sql = (f"WITH v AS ({answers_sql}) {flagged}SELECT NULL, NULL, COUNT(*), 0, 0 FROM v")
    return sql, [*params, *branch_params]


def breaches_found(filters: ReportFilters) -> Breaches:
    """The period's answers against the policy, counted and the newest listed (one statement)."""
    policy = current_policy()
    connection = connections[router.db_for_read(SurveyResponse)]  # the replica for a report view
    sql, params = _flag_sql(filters, policy, connection)
    keys = [key for key, on in (("open_case", policy.open_case_blocks), ("recently_closed", policy.days_after_close),
                                ("frequency", policy.max_surveys)) if on]
    counts = {key: 0 for key in keys}
    counts["any"] = 0
    total, found = 0, []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for pk, answered_at, open_case, recently_closed, frequency in cursor.fetchall():
            if pk is None:
                total = open_case
                continue
            broken = tuple(key for key, flag in (("open_case", open_case), ("recently_closed", recently_closed),
                                                  ("frequency", frequency)) if flag)
            for key in broken:
                counts[key] += 1
            counts["any"] += 1
            found.append((answered_at, pk, broken))
    found.sort(reverse=True, key=lambda item: (item[0], item[1]))  # newest first, then the higher id
    return Breaches(total=total, counts=counts, newest=[(pk, broken) for _at, pk, broken in found[:MAX_LIST_ROWS]])


def _summary_table(found: Breaches) -> Table:
    table = Table("contact-breaches-summary", _("Answers received against the contact policy"), [
        Column("rule", _("Rule")), Column("answers", _("Answers"), True), Column("share", _("Share of answers %"), True),
    ], description=str(_("Answers in the period from customers the policy says should not have been asked then.")))
    for key, label in RULES:
        if key in found.counts:
            table.add({"rule": label, "answers": found.counts[key], "share": pct(found.counts[key], found.total)})
    table.add({"rule": _("Any rule"), "answers": found.counts["any"], "share": pct(found.counts["any"], found.total)})
    return table


def _list_table(found: Breaches) -> Table:
    table = Table("contact-breaches", _("Answers received in breach"), [
        Column("answered_at", _("Answered")), Column("customer", _("Customer")), Column("survey", _("Survey")),
        Column("team", _("Team")), Column("rules", _("Rules broken")),
    ], description=str(_("Newest first, at most %(n)s.") % {"n": MAX_LIST_ROWS}))
    if not found.newest:
        return table
    details = {row["pk"]: row for row in SurveyResponse.objects.filter(pk__in=[pk for pk, _r in found.newest]).values(
        "pk", "answered_at", "customer_id", "customer__name", "customer__email", "survey__name", "team__name")}
    labels = dict(RULES)
    for pk, broken in found.newest:
        row = details[pk]
        table.add({
            "answered_at": timezone.localtime(row["answered_at"]).date(),
            "customer": row["customer__name"] or row["customer__email"] or f"#{row['customer_id']}",
            "survey": row["survey__name"], "team": row["team__name"] or "",
            "rules": "; ".join(str(labels[key]) for key in broken),
        }, {"customer": _customer_url(row["customer_id"])})
    return table


def contact_breach_summary(filters: ReportFilters) -> Table:
    return _summary_table(breaches_found(filters))


# The list alone reads the newest days first: over every team they hold MAX_LIST_ROWS breaches
# long before the period's start (the admin's list at 10M: 19 s for the whole 90 days).
NEWEST_FIRST = dt.timedelta(days=7)


def contact_breaches(filters: ReportFilters) -> Table:
    """The newest breaching answers: those of the last NEWEST_FIRST of the period when they are
    MAX_LIST_ROWS or more (every answer before is older than all of them), else the whole period's."""
    start = (filters.end or filters.now) - NEWEST_FIRST
    if filters.start is None or filters.start < start:
        found = breaches_found(replace(filters, start=start))
        if found.counts["any"] >= MAX_LIST_ROWS:
            return _list_table(found)
    return _list_table(breaches_found(filters))


def contact_breach_tables(filters: ReportFilters) -> tuple[Table, Table]:
    """The summary and the list from one computation (the Contact page shows both)."""
    found = breaches_found(filters)
    return _summary_table(found), _list_table(found)


def over_contacted(filters: ReportFilters) -> Table:
    policy = current_policy()
    table = Table("contact-over-contacted", _("Customers asked more often than the policy allows"), [
        Column("customer", _("Customer")), Column("contacts", _("Survey contacts"), True),
        Column("allowed", _("Allowed"), True), Column("last_contact", _("Last contact")),
    ], description=str(_("Survey contacts in the %(days)s days before the end of the period: answers, invitations "
                         "tools reported and recovery checks. At most %(n)s customers, most contacted first.")
                       % {"days": policy.period_days, "n": MAX_LIST_ROWS}))
    if not policy.max_surveys:
        return table
    end = filters.end or filters.now
    period = dt.timedelta(days=policy.period_days)
    start = end - period
    # Candidates: answers (visible teams) plus recorded contacts above the limit; then each is
    # counted exactly as the decision counts (an answer to a reported invitation counts once).
    scope = {"team_id__in": filters.team_ids} if filters.team_ids is not None else {}
    # One statement: the period's answers (the teams' covering index) and recorded contacts (the
    # index contactpolicy_event_at), both index-only, summed per customer; only the customers above
    # the limit come back. Then the viewer's teams' customers among them: one with an answer in the
    # period is one; the others are looked up, few as they are (every answer the teams ever had is
    # not read).
    answered = (SurveyResponse.objects.filter(answered_at__gt=start, answered_at__lte=end, **scope)
                .exclude(customer_id=None).order_by().values("customer_id"))
    contacted = ContactEvent.objects.filter(at__gt=start, at__lte=end).order_by().values("customer_id")
    answers_sql, answers_params = answered.query.sql_with_params()
    contacts_sql, contacts_params = contacted.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT both_.customer_id, SUM(both_.answer), COUNT(*) FROM (
                    SELECT a.customer_id, 1 AS answer FROM ({answers_sql}) a
                    UNION ALL SELECT e.customer_id, 0 AS answer FROM ({contacts_sql}) e
                ) both_ GROUP BY both_.customer_id HAVING COUNT(*) > %s""",
            [*answers_params, *contacts_params, policy.max_surveys])
        totals = {pk: (answers, total) for pk, answers, total in cursor.fetchall()}
    candidates = list(totals)
    unseen = [pk for pk in candidates if not totals[pk][0]]
    if filters.team_ids is not None and unseen:  # customers the viewer's teams have heard from
        heard = set(SurveyResponse.objects.filter(customer_id__in=unseen, **scope).order_by()
                    .values_list("customer_id", flat=True).distinct())
        candidates = [pk for pk in candidates if totals[pk][0] or pk in heard]
    candidates.sort(key=lambda pk: -totals[pk][1])
    counted = survey_contacts_many(candidates, start=start, end=end, period=period)  # two queries for them all
    found = [(pk, counted[pk]) for pk in candidates if len(counted.get(pk, ())) > policy.max_surveys][:MAX_LIST_ROWS]
    names = {c.pk: c.name or c.email or f"#{c.pk}" for c in Customer.objects.filter(pk__in=[pk for pk, _t in found])}
    for pk, times in sorted(found, key=lambda item: (-len(item[1]), item[0])):
        table.add({"customer": names.get(pk, f"#{pk}"), "contacts": len(times), "allowed": policy.max_surveys,
                   "last_contact": timezone.localtime(times[-1]).date()}, {"customer": _customer_url(pk)})
    return table
