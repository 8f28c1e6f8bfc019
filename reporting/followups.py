"""What each NPS answer was followed by, stored (reporting.AnswerFollowUp): the closed-loop results
report sums these rows instead of reading every answer of the period, the cases and the events.

One row per NPS answer with a customer: its customer, team and time; `reign_ends_at`, the time of
the customer's next NPS answer in the same team (FAR_FUTURE when there is none), so that the
customer's latest answer in a period [start, end) is the row with start <= answered_at < end <=
reign_ends_at -- a range of an index, not a sort of the period's answers; its group (promoter,
passive, or for a detractor what became of the first case opened from it: `GROUPS_SQL`) and that
case's root cause; and per window (90/180/365 days after the answer) whether the customer churned
in it, their revenue in it in OUTCOMES_REPORT_CURRENCY and the events in other currencies. The
figures of one row are exactly what the report computed per customer before it was stored
(`per_answer_sql`, which both fills the rows and computes the answers of customers not yet
refreshed at read time).

Kept exactly, whatever writes: database triggers (the same reasons as surveys.rollups) mark a
customer stale in reporting.FollowUpStale, in the writer's transaction, when anything their rows
read changes -- their NPS answers (inserted, deleted, moved to another customer or team, rescored,
redated), a case opened from one of them (its status, outcome, first contact, overdue mark, root
cause), a recovery check of such a case, an outcome event of theirs, of a customer merged into
them or (churn, no customer named) of an account they are a contact of, a merge pointing a customer
at them, a contact added or removed. `fold()` (the beat's rollups task, every minute) recomputes
the stale customers' rows and clears their marks; until then the report computes those customers
from the source rows in the same statement (reporting.selectors.outcomes), so a figure never lags
a write. `rebuild()` recreates the triggers and every row (migration 0006, `manage.py rollups
--rebuild`, after a bulk load with the triggers off).

Windows not yet passed are decided when reading (a row's 365-day sums are stored from its answer
on; the report counts the row in that window only once the window has passed), as before."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.db.models import DateTimeField, F, Value, Window
from django.db.models.functions import Coalesce, Lead

from cases.models import Case
from core import stale_marks
from core.stale_marks import Watch
from reporting import case_followups
from reporting.case_followups import plus_days
from outcomes.models import OutcomeEvent
from surveys.models import SurveyResponse

WINDOWS = (90, 180, 365)
FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)  # "no later answer": never before a period's end
TABLE = "reporting_answerfollowup"
STALE = "reporting_followupstale"
RESPONSES = "surveys_surveyresponse"
# Customers per statement of rebuild() (a range of ids): about ten NPS answers each in the outcomes
# bench, so a statement writes some 500,000 rows.
BATCH = 50_000
# Marks per fold() transaction: their customers travel as a list of parameters (SQLite takes at
# most 32,766 per statement), and a minute's worth of recorded answers is a few thousand.
FOLD_MARKS = 5_000
PREFIX = "reporting_followup"  # the triggers' names
LOCK_KEY = 2300023  # pg_advisory_xact_lock: one fold or rebuild at a time
MONEY_IN = {OutcomeEvent.Kind.RENEWAL: 1, OutcomeEvent.Kind.PURCHASE: 1, OutcomeEvent.Kind.EXPANSION: 1,
            OutcomeEvent.Kind.REFUND: -1}
SUMS = tuple(f"{name}_{days}" for days in WINDOWS for name in ("churned", "revenue", "other"))
COLUMNS = ("response_id", "customer_id", "team_id", "answered_at", "reign_ends_at", "grp", "root_cause_id", *SUMS)

# The figures of each answer `answers` gives (id, customer_id, answered_at, nps, team_id, end_90,
# end_180, end_365 and, when stored, reign_ends_at), in SQL that PostgreSQL and SQLite both run.
# `first_cases`: the first case opened from each detractor's answer. `people`: each answer's group
# from that case and whether a recovery check said "put right". `own`: the customer's own events
# within the answer's longest window, summed per window (PostgreSQL: an index-only probe of
# (customer, occurred_at) per answer). `others`: the same for the events of customers merged into
# them and the churn of accounts they are a contact of (with no customer named). Then the two added.
PER_ANSWER_SQL = """
WITH answers AS MATERIALIZED ({answers}),
first_cases AS MATERIALIZED (
    SELECT ranked.response_id, ranked.id, ranked.status, ranked.outcome, ranked.first_contacted_at,
           ranked.overdue_at, ranked.root_cause_id
    FROM (SELECT c.response_id, c.id, c.status, c.outcome, c.first_contacted_at, c.overdue_at, c.root_cause_id,
                 ROW_NUMBER() OVER (PARTITION BY c.response_id ORDER BY c.created_at, c.id) AS n
          FROM cases_case c WHERE c.response_id IN (SELECT l.id FROM answers l WHERE l.nps <= 6)) ranked
    WHERE ranked.n = 1
),
people AS MATERIALIZED (
    SELECT l.id AS response_id, l.customer_id, l.answered_at, {ends}, l.team_id, {reign_l} c.root_cause_id,
           CASE WHEN l.nps >= 9 THEN 'promoter'
                WHEN l.nps >= 7 THEN 'passive'
                WHEN c.id IS NULL THEN 'not_contacted'
                WHEN c.status = '{closed}' AND c.outcome = '{resolved}' THEN
                     CASE WHEN EXISTS (SELECT 1 FROM followup_verification v
                                       WHERE v.case_id = c.id AND v.recovered = {true})
                          THEN 'resolved_verified' ELSE 'resolved_unverified' END
                WHEN c.first_contacted_at IS NOT NULL AND c.overdue_at IS NULL THEN 'contacted_unresolved'
                ELSE 'not_contacted' END AS grp
    FROM answers l LEFT JOIN first_cases c ON c.response_id = l.id
),
own AS MATERIALIZED (
    SELECT p.response_id, {per_window}
    FROM people p JOIN outcomes_outcomeevent f ON f.customer_id = p.customer_id
         AND f.occurred_at > p.answered_at AND f.occurred_at <= p.end_{longest}
    GROUP BY p.response_id
),
others AS MATERIALIZED (
    SELECT p.response_id, {per_window}
    FROM people p JOIN (
        SELECT m.merged_into_id AS customer_id, e.occurred_at, e.kind, e.amount, e.currency
        FROM surveys_customer m JOIN outcomes_outcomeevent e ON e.customer_id = m.id
        WHERE m.merged_into_id IS NOT NULL
        UNION ALL
        SELECT ct.customer_id, e.occurred_at, e.kind, e.amount, e.currency
        FROM customers_contact ct JOIN outcomes_outcomeevent e ON e.account_id = ct.account_id
        WHERE e.customer_id IS NULL AND e.kind = '{churn}'
    ) f ON f.customer_id = p.customer_id AND f.occurred_at > p.answered_at AND f.occurred_at <= p.end_{longest}
    GROUP BY p.response_id
)
SELECT p.response_id, p.customer_id, p.team_id, p.answered_at, {reign_p} p.grp, p.root_cause_id, {sums}
FROM people p LEFT JOIN own o ON o.response_id = p.response_id LEFT JOIN others x ON x.response_id = p.response_id
"""
_MONEY = "CASE f.kind " + " ".join(f"WHEN '{kind}' THEN {sign}" for kind, sign in MONEY_IN.items()) + " END"


def per_answer_sql(answers_sql: str, *, stored: bool) -> str:
    """PER_ANSWER_SQL over `answers_sql`; `stored`: it also gives reign_ends_at (the rows written)."""
    currency = settings.OUTCOMES_REPORT_CURRENCY.replace("'", "")
    per_window, sums = [], []
    for days in WINDOWS:
        within = f"f.occurred_at <= p.end_{days}"
        per_window += [
            f"max(CASE WHEN f.kind = '{OutcomeEvent.Kind.CHURN}' AND {within} THEN 1 ELSE 0 END) AS churned_{days}",
            f"coalesce(sum(CASE WHEN f.currency = '{currency}' AND {within} THEN {_MONEY} * f.amount END), 0)"
            f" AS revenue_{days}",
            f"count(CASE WHEN {_MONEY} IS NOT NULL AND f.currency <> '{currency}' AND {within} THEN 1 END)"
            f" AS other_{days}",
        ]
        sums += [f"CASE WHEN o.churned_{days} = 1 OR x.churned_{days} = 1 THEN 1 ELSE 0 END AS churned_{days}",
                 f"coalesce(o.revenue_{days}, 0) + coalesce(x.revenue_{days}, 0) AS revenue_{days}",
                 f"coalesce(o.other_{days}, 0) + coalesce(x.other_{days}, 0) AS other_{days}"]
    true = "true" if connection.vendor == "postgresql" else "1"
    return PER_ANSWER_SQL.format(
        answers=answers_sql, ends=", ".join(f"l.end_{days}" for days in WINDOWS), longest=max(WINDOWS),
        reign_l="l.reign_ends_at," if stored else "", reign_p="p.reign_ends_at," if stored else "",
        per_window=",\n           ".join(per_window), sums=", ".join(sums), closed=Case.Status.CLOSED,
        resolved=Case.Outcome.RESOLVED, true=true, churn=OutcomeEvent.Kind.CHURN)


def window_ends() -> dict:
    """end_90, end_180, end_365: the answer's time plus each window, as the ORM writes it."""
    return {f"end_{days}": plus_days("answered_at", days) for days in WINDOWS}


def compiled(queryset) -> tuple[str, list]:
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    return sql, list(params)


def _answers(customers) -> tuple[str, list]:
    """Every NPS answer of `customers` (a Q on customer_id) with the end of its reign in its team."""
    reign = Window(Lead("answered_at"), partition_by=[F("customer_id"), F("team_id")],
                   order_by=[F("answered_at").asc(), F("id").asc()])
    queryset = (SurveyResponse.objects.filter(customers, nps__isnull=False, customer__isnull=False).order_by()
                .annotate(reign_ends_at=Coalesce(reign, Value(FAR_FUTURE, output_field=DateTimeField())),
                          **window_ends())
                .values("id", "customer_id", "answered_at", "nps", "team_id", *(f"end_{d}" for d in WINDOWS),
                        "reign_ends_at"))
    return compiled(queryset)


def _write(cursor, customers) -> int:
    """Replace the rows of `customers` (a Q on customer_id) with what the source rows say now."""
    from reporting.models import AnswerFollowUp

    # The customers' rows, and the rows of their answers still filed under another customer (an
    # answer moved by a merge whose other customer is refreshed in a later fold).
    AnswerFollowUp.objects.filter(customers).delete()
    AnswerFollowUp.objects.filter(response_id__in=SurveyResponse.objects.filter(customers).values("id")).delete()
    sql, params = _answers(customers)
    cursor.execute(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) {per_answer_sql(sql, stored=True)}", params)
    return cursor.rowcount


def fold(limit: int = FOLD_MARKS) -> int:
    """Recompute the rows of up to `limit` stale customers and clear their marks, in one
    transaction (a mark written meanwhile by another transaction stays, for the next fold).
    Returns the customers refreshed."""
    from django.db.models import Q

    with transaction.atomic(), connection.cursor() as cursor:
        stale_marks.lock(cursor, LOCK_KEY)
        customers = stale_marks.take_marks(cursor, STALE, limit)
        if not customers:
            return 0
        _write(cursor, Q(customer_id__in=customers))
        case_followups.write(cursor, Q(customer_id__in=customers), none=0 in customers)
        return len(customers)


def fold_all() -> int:
    folded = total = fold()
    while folded:
        folded = fold()
        total += folded
    return total


def rebuild() -> int:
    """Recreate the triggers, then every row, BATCH customers (a range of ids) per transaction when
    called outside one (the triggers mark what changes meanwhile; the marks of a range written are
    cleared with it). Idempotent. Returns the rows written."""
    from django.db.models import Q

    with transaction.atomic(), connection.cursor() as cursor:
        for statement in trigger_sql():
            cursor.execute(statement)
        cursor.execute(f"SELECT MIN(customer_id), MAX(customer_id) FROM {RESPONSES}")
        low, high = cursor.fetchone()
        cursor.execute(f"DELETE FROM {TABLE} WHERE customer_id < %s OR customer_id > %s", [low or 0, high or 0])
        cursor.execute(f"DELETE FROM {case_followups.TABLE} WHERE customer_id < %s OR customer_id > %s",
                       [low or 0, high or 0])
    written = 0
    for start in range(low or 0, (high or -1) + 1, BATCH):
        with transaction.atomic(), connection.cursor() as cursor:
            stale_marks.lock(cursor, LOCK_KEY)
            cursor.execute(f"DELETE FROM {STALE} WHERE customer_id >= %s AND customer_id < %s", [start, start + BATCH])
            written += _write(cursor, Q(customer_id__gte=start, customer_id__lt=start + BATCH))
            case_followups.write(cursor, Q(customer_id__gte=start, customer_id__lt=start + BATCH), none=False)
    with transaction.atomic(), connection.cursor() as cursor:  # the cases without a customer (customer 0)
        stale_marks.lock(cursor, LOCK_KEY)
        cursor.execute(f"DELETE FROM {STALE} WHERE customer_id = 0")
        case_followups.write(cursor, Q(pk__in=[]), none=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TABLE}")
            cursor.execute(f"ANALYZE {STALE}")
    return written


# --- triggers: which customers a change makes stale -------------------------------------------
# Per table: the columns whose change matters, and the customers a row names (`{r}` is the row:
# new_rows/old_rows on PostgreSQL, NEW/OLD on SQLite).
WATCHED = {
    RESPONSES: Watch(("customer_id", "team_id", "nps", "answered_at"),
                     "SELECT {r}.customer_id AS customer_id WHERE {r}.customer_id IS NOT NULL AND {r}.nps IS NOT NULL"
                     " UNION ALL SELECT COALESCE(c.customer_id, 0) FROM cases_case c WHERE c.response_id = {r}.id"),
    "cases_case": Watch(("response_id", "created_at", "status", "outcome", "first_contacted_at", "overdue_at",
                        "root_cause_id", "closed_at", "team_id", "customer_id"),
                        f"SELECT a.customer_id AS customer_id FROM {RESPONSES} a WHERE a.id = {{r}}.response_id"
                        " AND a.customer_id IS NOT NULL AND a.nps IS NOT NULL"
                        " UNION ALL SELECT COALESCE({r}.customer_id, 0)"),
    "followup_verification": Watch(("case_id", "recovered"),
                                   f"SELECT a.customer_id AS customer_id FROM cases_case c JOIN {RESPONSES} a ON a.id = c.response_id"
                                   " WHERE c.id = {r}.case_id AND a.customer_id IS NOT NULL AND a.nps IS NOT NULL"),
    "outcomes_outcomeevent": Watch(("customer_id", "account_id", "kind", "amount", "currency", "occurred_at"),
                                   "SELECT {r}.customer_id AS customer_id WHERE {r}.customer_id IS NOT NULL"
                                   " UNION ALL SELECT m.merged_into_id FROM surveys_customer m"
                                   " WHERE m.id = {r}.customer_id AND m.merged_into_id IS NOT NULL"
                                   " UNION ALL SELECT ct.customer_id FROM customers_contact ct"
                                   " WHERE ct.account_id = {r}.account_id AND {r}.customer_id IS NULL"
                                   f" AND {{r}}.kind = '{OutcomeEvent.Kind.CHURN}'"),
    # A new or deleted customer has no answers yet / any more: only an UPDATE marks.
    "surveys_customer": Watch(("merged_into_id", "account_value"),
                              "SELECT {r}.merged_into_id AS customer_id WHERE {r}.merged_into_id IS NOT NULL"
                              " UNION ALL SELECT {r}.id", ops=("UPDATE",)),
    "customers_contact": Watch(("customer_id", "account_id")),
}


def trigger_sql() -> list[str]:
    """The statements that (re)create the triggers for the current database."""
    return stale_marks.trigger_sql(PREFIX, STALE, WATCHED)


def drop_trigger_sql() -> list[str]:
    return stale_marks.drop_trigger_sql(PREFIX, WATCHED)
