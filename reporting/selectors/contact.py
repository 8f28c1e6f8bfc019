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
from dataclasses import dataclass

from django.db import connections, router
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contactpolicy.services import current_policy, survey_contacts_many
from reporting import contact_breaches as stored_breaches
from reporting.filters import ReportFilters
from reporting.models import BreachStale
from reporting.selectors.common import MAX_LIST_ROWS
from reporting.selectors.scores import score_rollup
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


def breaches_found(filters: ReportFilters, *, count_answers: bool = True) -> Breaches:
    """The period's answers against the policy, counted and the newest MAX_LIST_ROWS listed (one
    statement after the check of which policy the stored rows are of): the stored rows of the period
    (reporting.contact_breaches), and the answers of the customers a write made stale computed from
    the source rows by the same statement that fills the rows; every answer computed so while the
    rows are of another policy than the current one. `count_answers=False` (the list, which does not
    show it): the period's answers are not counted (total 0), 0.6 s of an admin's 2.4M at 10M.
    When the daily score rollup answers the filters (scores.score_rollup: whole local days, the keys
    it has), they are its sum less the answers without a customer (a range of the index by customer,
    where the customer is null): two small reads where the statement counted every answer (0.35 s of
    an admin's 90 days at 10M); otherwise the statement counts them."""
    policy = current_policy()
    rollup = score_rollup(filters) if count_answers else None
    counted_here = count_answers and rollup is None
    conn = connections[router.db_for_read(SurveyResponse)]  # the replica for a report view
    stored = stored_breaches.stored_under(conn, policy)
    everything = filters.responses()
    live = everything.filter(customer_id__in=BreachStale.objects.values("customer_id")) if stored else everything
    live_sql, live_params = stored_breaches.answers(live)
    cte, cte_params, select, select_params = stored_breaches.flags_sql(
        live_sql, live_params, policy, conn, start=filters.start, end=filters.end)
    all_sql, all_params = stored_breaches.answers(everything)
    parts = [f"SELECT s.id, s.answered_at, s.open_case, s.recently_closed, s.frequency FROM ({select}) s"]
    params = [*cte_params, *select_params]
    if stored:
        adapt = conn.ops.adapt_datetimefield_value
        where, where_params = [f"b.customer_id NOT IN (SELECT customer_id FROM {stored_breaches.STALE})"], []
        if filters.team_ids is not None:
            teams = sorted(filters.team_ids)
            where.append(f"b.team_id IN ({', '.join(['%s'] * len(teams))})" if teams else "1 = 0")
            where_params += teams
        if filters.start:
            where.append("b.answered_at >= %s")
            where_params.append(adapt(filters.start))
        if filters.end:
            where.append("b.answered_at < %s")
            where_params.append(adapt(filters.end))
        if filters.survey_id or filters.touchpoint or filters.location or filters.tier or filters.segment is not None:
            where.append(f"b.response_id IN (SELECT a.id FROM ({all_sql}) a)")
            where_params += all_params
        parts.append(f"SELECT b.response_id, b.answered_at, CAST(b.open_case AS INTEGER), "
                     f"CAST(b.recently_closed AS INTEGER), CAST(b.frequency AS INTEGER) "
                     f"FROM {stored_breaches.TABLE} b WHERE {' AND '.join(where)}")
        params += where_params
    # Counted in the database, and only the newest MAX_LIST_ROWS come back (an admin's 90 days hold
    # some 66,000 stored breaches at 10M).
    sql = (f"{cte}, f AS ({' UNION ALL '.join(parts)}) "
           f"SELECT 0, NULL, NULL, COALESCE(SUM(f.open_case), 0), COALESCE(SUM(f.recently_closed), 0), "
           f"COALESCE(SUM(f.frequency), 0), COUNT(*), {f'(SELECT COUNT(*) FROM ({all_sql}) t)' if counted_here else '0'} "
           f"FROM f "
           f"UNION ALL SELECT 1, n.id, n.answered_at, n.open_case, n.recently_closed, n.frequency, 0, 0 FROM ("
           f"SELECT f.id, f.answered_at, f.open_case, f.recently_closed, f.frequency FROM f "
           f"ORDER BY f.answered_at DESC, f.id DESC LIMIT %s) n")
    params += [*(all_params if counted_here else []), MAX_LIST_ROWS]
    keys = [key for key, on in (("open_case", policy.open_case_blocks), ("recently_closed", policy.days_after_close),
                                ("frequency", policy.max_surveys)) if on]
    total, counts, found = 0, {}, []
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, pk, answered_at, open_case, recently_closed, frequency, breaching, answers in cursor.fetchall():
            if kind == 0:  # the counts
                sums = {"open_case": open_case, "recently_closed": recently_closed, "frequency": frequency}
                counts = {**{key: int(sums[key]) for key in keys}, "any": int(breaching)}
                total = int(answers)
                continue
            broken = tuple(key for key, flag in (("open_case", open_case), ("recently_closed", recently_closed),
                                                  ("frequency", frequency)) if flag)
            if isinstance(answered_at, str):  # SQLite: the times come back as text
                answered_at = conn.ops.convert_datetimefield_value(answered_at, None, conn)
            found.append((answered_at, pk, broken))
    found.sort(reverse=True, key=lambda item: (item[0], item[1]))  # newest first, then the higher id
    if rollup is not None:
        total = ((rollup.aggregate(n=Sum("responses"))["n"] or 0)
                 - everything.filter(customer_id=None).order_by().count())
    return Breaches(total=total, counts=counts, newest=[(pk, broken) for _at, pk, broken in found])


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


def contact_breaches(filters: ReportFilters) -> Table:
    return _list_table(breaches_found(filters, count_answers=False))


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
    counted = survey_contacts_many(_over_limit_candidates(filters, policy, start, end), start=start, end=end,
                                   period=period)  # two queries for them all
    found = sorted(((pk, times) for pk, times in counted.items() if len(times) > policy.max_surveys),
                   key=lambda item: (-len(item[1]), item[0]))[:MAX_LIST_ROWS]
    names = {c.pk: c.name or c.email or f"#{c.pk}" for c in Customer.objects.filter(pk__in=[pk for pk, _t in found])}
    for pk, times in found:
        table.add({"customer": names.get(pk, f"#{pk}"), "contacts": len(times), "allowed": policy.max_surveys,
                   "last_contact": timezone.localtime(times[-1]).date()}, {"customer": _customer_url(pk)})
    return table


def _over_limit_candidates(filters: ReportFilters, policy, start: dt.datetime, end: dt.datetime) -> list[int]:
    """The customers with more survey contacts in (start, end] than the policy allows, counted raw
    (answers and recorded contacts, every team's: never fewer than the decision counts, so every
    customer over the limit is among them), in one statement after the check of which policy the
    stored rows are of; on a manager's report only those one of their teams ever had an answer from.

    With the peaks stored under the current policy (reporting.ContactPeak), only the contacts of the
    customers with a peak in the period and of those a write made stale are counted (read by
    customer); else every contact of the period, summed per customer (0.46 s for an admin at
    10,000,000 answers)."""
    conn = connections[router.db_for_read(SurveyResponse)]
    adapt = conn.ops.adapt_datetimefield_value
    window = [adapt(start), adapt(end)]
    customers, params = "IS NOT NULL", []
    if stored_breaches.stored_under(conn, policy):
        customers = (f"IN (SELECT p.customer_id FROM {stored_breaches.PEAKS} p WHERE p.at > %s AND p.at <= %s "
                     f"UNION SELECT s.customer_id FROM {stored_breaches.STALE} s)")
        params = [*window, *window]  # the contacts' two halves read the customers each
    sql = (f"SELECT c.customer_id FROM ({stored_breaches.contacts_sql(f'customer_id {customers}')}) c "
           f"WHERE c.at > %s AND c.at <= %s GROUP BY c.customer_id HAVING COUNT(*) > %s")
    params += [*window, policy.max_surveys]
    if filters.team_ids is not None:  # customers the viewer's teams have heard from
        teams = sorted(filters.team_ids)
        heard = f"r.team_id IN ({', '.join(['%s'] * len(teams))})" if teams else "1 = 0"
        sql = (f"SELECT x.customer_id FROM ({sql}) x WHERE EXISTS (SELECT 1 FROM {stored_breaches.RESPONSES} r "
               f"WHERE r.customer_id = x.customer_id AND {heard})")
        params += teams
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return [pk for (pk,) in cursor.fetchall()]
