"""What each closed case with a root cause was followed by, stored (reporting.ClosedCaseFollowUp):
the impact report's root-cause figures sum these rows instead of probing, per closed case of the
period, its opening answer, its customer and their churn events.

One row per closed case with a root cause: its team, closure time and root cause; its opening
answer (id, time, NPS); its customer (0: none) with the customer's recorded account value; and
whether the customer churned within CHURN_DAYS after that answer -- their own churn, that of a
customer merged into them, or (with no customer named) that of an account they are a contact of:
the impact report's churn, whose window starts at a customer's first answer touched, which is the
answer of one of these rows.

Kept with the answers' follow-ups (reporting.followups): the same triggers mark the case's
customer stale when the case, its opening answer, the customer's account value or anything their
churn reads changes (a case without a customer marks customer 0), and the same fold and rebuild
rewrite these rows per customer. Until folded, the impact report computes the stale customers'
cases from the source rows (`case_rows_sql`, the same statement that fills the rows)."""

from __future__ import annotations

import datetime as dt

from django.db.models import DateTimeField, ExpressionWrapper, F, Q

from cases.models import Case
from outcomes.models import OutcomeEvent

CHURN_DAYS = 365
TABLE = "reporting_closedcasefollowup"
COLUMNS = ("case_id", "customer_id", "team_id", "closed_at", "root_cause_id", "response_id", "answered_at", "nps",
           "account_value", "churned")
_WITHIN = "e.kind = '{churn}' AND e.occurred_at > c.answered_at AND e.occurred_at <= c.churn_end"
# Each case of `cases` (id, customer_id, team_id, closed_at, root_cause_id, response_id,
# answered_at, nps, churn_end) with its customer's account value and churn flag, in SQL PostgreSQL
# and SQLite both run; each EXISTS is an index probe per case (events by (customer, occurred_at),
# merged customers by merged_into, contacts by customer).
CASE_ROWS_SQL = """
SELECT c.id AS case_id, COALESCE(c.customer_id, 0) AS customer_id, c.team_id, c.closed_at, c.root_cause_id,
       c.response_id, c.answered_at, c.nps, cu.account_value,
       CASE WHEN EXISTS (SELECT 1 FROM outcomes_outcomeevent e WHERE e.customer_id = c.customer_id AND {within})
              OR EXISTS (SELECT 1 FROM surveys_customer m JOIN outcomes_outcomeevent e ON e.customer_id = m.id
                         WHERE m.merged_into_id = c.customer_id AND {within})
              OR EXISTS (SELECT 1 FROM customers_contact ct JOIN outcomes_outcomeevent e ON e.account_id = ct.account_id
                         WHERE ct.customer_id = c.customer_id AND e.customer_id IS NULL AND {within})
            THEN 1 ELSE 0 END AS churned
FROM ({cases}) c LEFT JOIN surveys_customer cu ON cu.id = c.customer_id
"""


def plus_days(field_name: str, days: int) -> ExpressionWrapper:
    """`field_name` + `days` 24-hour days, as the ORM writes it for the database at hand."""
    return ExpressionWrapper(F(field_name) + dt.timedelta(days=days), output_field=DateTimeField())


def case_rows_sql(cases_sql: str) -> str:
    return CASE_ROWS_SQL.format(cases=cases_sql, within=_WITHIN.format(churn=OutcomeEvent.Kind.CHURN))


def closed_cases(queryset=None):
    """Closed cases with a root cause, with the columns CASE_ROWS_SQL reads."""
    queryset = Case.objects.all() if queryset is None else queryset
    return (queryset.filter(status=Case.Status.CLOSED, root_cause__isnull=False).order_by()
            .annotate(answered_at=F("response__answered_at"), nps=F("response__nps"),
                      churn_end=plus_days("response__answered_at", CHURN_DAYS))
            .values("id", "customer_id", "team_id", "closed_at", "root_cause_id", "response_id", "answered_at", "nps",
                    "churn_end"))


def of_customers(customers: Q, *, none: bool) -> Q:
    """`customers` (a Q on customer_id), and the cases without a customer when `none` (customer 0)."""
    return customers | Q(customer_id__isnull=True) if none else customers


def write(cursor, customers: Q, *, none: bool) -> int:
    """Replace the rows of the cases of `customers` (and of no customer when `none`) with what the
    source rows say now."""
    from reporting.models import ClosedCaseFollowUp

    rows = ClosedCaseFollowUp.objects.filter(customers | Q(customer_id=0) if none else customers)
    rows.delete()
    # A case moved to another customer whose marks a later fold takes: its row goes with its case.
    ClosedCaseFollowUp.objects.filter(case_id__in=Case.objects.filter(of_customers(customers, none=none))
                                      .values("id")).delete()
    sql, params = closed_cases(Case.objects.filter(of_customers(customers, none=none))).query.sql_with_params()
    cursor.execute(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) {case_rows_sql(sql)}", params)
    return cursor.rowcount
