"""Contact governance: who was asked too often, and which answers arrived against the policy
(contactpolicy.services holds the rules; docs/contact-policy.md says what each one means).

- over-contacted: customers whose survey contacts in the policy's period, ending at the report's
  end date, exceed what the policy allows (counted exactly as the decision counts them);
- breaches: answers received in the period that the policy would have prevented: while a case of
  the customer's was open (the case the answer itself opened does not count), within the rest
  days after one closed, or beyond the survey limit (the answer was the customer's N+1th or later
  in the period before it). One answer can break several rules: the summary counts each rule,
  and "any rule" once per answer.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import Count, DateTimeField, Exists, ExpressionWrapper, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
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


def _breach_flags(filters: ReportFilters):
    """The period's answers (visible teams), each with one flag per rule."""
    policy = current_policy()
    answers = filters.responses().exclude(customer_id=None)
    answered = OuterRef("answered_at")
    theirs = Case.objects.filter(customer_id=OuterRef("customer_id"))
    open_then = theirs.filter(created_at__lt=answered).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gt=answered)).exclude(response_id=OuterRef("pk"))
    flags = {"open_case": Exists(open_then) if policy.open_case_blocks else None}
    if policy.days_after_close:
        rest_from = ExpressionWrapper(answered - dt.timedelta(days=policy.days_after_close), output_field=DateTimeField())
        flags["recently_closed"] = Exists(theirs.filter(closed_at__lt=answered, closed_at__gte=rest_from))
    if policy.max_surveys:
        period_from = ExpressionWrapper(answered - dt.timedelta(days=policy.period_days), output_field=DateTimeField())
        earlier = (SurveyResponse.objects.filter(customer_id=OuterRef("customer_id"), answered_at__lt=answered,
                                                 answered_at__gte=period_from)
                   .order_by().values("customer_id").annotate(n=Count("pk")).values("n"))
        flags["frequency_before"] = Coalesce(Subquery(earlier, output_field=IntegerField()), 0)
    flags = {key: value for key, value in flags.items() if value is not None}
    annotated = answers.annotate(**{f"flag_{key}": value for key, value in flags.items()})
    breach = Q()
    for key in flags:
        breach |= Q(**{f"flag_{key}__gte": policy.max_surveys}) if key == "frequency_before" else Q(**{f"flag_{key}": True})
    return policy, annotated, breach


def contact_breach_summary(filters: ReportFilters) -> Table:
    table = Table("contact-breaches-summary", _("Answers received against the contact policy"), [
        Column("rule", _("Rule")), Column("answers", _("Answers"), True), Column("share", _("Share of answers %"), True),
    ], description=str(_("Answers in the period from customers the policy says should not have been asked then.")))
    policy, annotated, breach = _breach_flags(filters)
    aggregates = {"total": Count("pk"), "any": Count("pk", filter=breach) if breach else Count("pk", filter=Q(pk=None))}
    if "flag_open_case" in annotated.query.annotations:
        aggregates["open_case"] = Count("pk", filter=Q(flag_open_case=True))
    if "flag_recently_closed" in annotated.query.annotations:
        aggregates["recently_closed"] = Count("pk", filter=Q(flag_recently_closed=True))
    if "flag_frequency_before" in annotated.query.annotations:
        aggregates["frequency"] = Count("pk", filter=Q(flag_frequency_before__gte=policy.max_surveys))
    figures = annotated.order_by().aggregate(**aggregates)
    total = figures["total"]
    for key, label in RULES:
        if key in figures:
            table.add({"rule": label, "answers": figures[key], "share": pct(figures[key], total)})
    table.add({"rule": _("Any rule"), "answers": figures["any"], "share": pct(figures["any"], total)})
    return table


def contact_breaches(filters: ReportFilters) -> Table:
    table = Table("contact-breaches", _("Answers received in breach"), [
        Column("answered_at", _("Answered")), Column("customer", _("Customer")), Column("survey", _("Survey")),
        Column("team", _("Team")), Column("rules", _("Rules broken")),
    ], description=str(_("Newest first, at most %(n)s.") % {"n": MAX_LIST_ROWS}))
    policy, annotated, breach = _breach_flags(filters)
    if not breach:
        return table
    rows = (annotated.filter(breach).order_by("-answered_at", "-pk")
            .values("pk", "answered_at", "customer_id", "customer__name", "customer__email", "survey__name",
                    "team__name", *[name for name in annotated.query.annotations if name.startswith("flag_")])
            [:MAX_LIST_ROWS])
    labels = dict(RULES)
    for row in rows:
        broken = [labels["open_case"]] if row.get("flag_open_case") else []
        if row.get("flag_recently_closed"):
            broken.append(labels["recently_closed"])
        if row.get("flag_frequency_before", 0) >= (policy.max_surveys or 1) and policy.max_surveys:
            broken.append(labels["frequency"])
        table.add({
            "answered_at": timezone.localtime(row["answered_at"]).date(),
            "customer": row["customer__name"] or row["customer__email"] or f"#{row['customer_id']}",
            "survey": row["survey__name"], "team": row["team__name"] or "",
            "rules": "; ".join(str(label) for label in broken),
        }, {"customer": _customer_url(row["customer_id"])})
    return table


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
