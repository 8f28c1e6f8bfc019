"""Which answers broke the contact policy when they arrived, stored (reporting.AnswerBreach): the
Contact report's breach tables (reporting.selectors.contact) read the period's stored rows instead
of joining every answer of the period to its customer's cases and earlier answers (2.2 s for the
bench manager at 10,000,000 responses, about 20 s for an admin of every team).

The rules and what each means: docs/contact-policy.md. One statement decides them for a set of
answers (`flags_sql`): the answers joined once to their customers' cases and once to their
customers' answers in the policy period before. It fills the rows (every answer of a set of
customers) and computes, at read time, the answers of the customers whose rows are not up to date,
so a figure never lags a write and both ways give the same flags.

Only breaching answers have a row, with the rules they broke under the current policy.

The over-contacted list reads a second set of rows kept the same way (reporting.ContactPeak): the
moments a customer was asked (an answer, or an invitation or a recovery check recorded in
contactpolicy.ContactEvent) at which they had more contacts than the survey limit in the period up
to that moment, every contact counted raw (`peaks_sql`). A customer asked too often in a period
had one in it (their newest contact of the period: its own period holds every contact of theirs
before it in the report's), so the list counts exactly, as the decision does, only the customers
with a peak in its period (0 customers of 693,000 contacted at 10,000,000 answers, where it summed
957,000 contacts per customer: 0.46 s).

Both sets of rows depend on the policy, so they record which one (reporting.BreachPolicy,
`policy_key`): after a change of the survey limit, the period, the open-case rule or the rest days,
the report computes everything from the source rows (as fast as before these tables) until
`rebuild()` has run again (the beat's rollups task does it when it finds the key changed; 54 s at
10,000,000 answers).

Kept exactly, whatever writes (the reasons of surveys.rollups): database triggers mark a customer
stale (reporting.BreachStale) in the writer's transaction when an answer of theirs is inserted,
deleted, moved to another customer or team, or redated, and when a case of theirs is opened,
deleted, moved to another customer, redated, closed or reopened (created_at, closed_at, its
response). That covers webhook ingest, imports, erasure and merges of customers (an UPDATE of the
answers' customer) alike; and, for the peaks, when a recorded contact of theirs is inserted,
deleted, moved or redated. `fold()` (the beat's rollups task, every minute) recomputes the stale
customers' rows and clears their marks; until then the report computes those customers from the
source rows in the same statement. `rebuild()` recreates the triggers and every row (reporting
0012, `manage.py rollups --rebuild`, after a bulk load with the triggers off). The triggers and the
taking of marks are core.stale_marks', as the follow-ups' (reporting.followups)."""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from core import stale_marks
from core.stale_marks import Watch
from surveys.models import SurveyResponse

TABLE = "reporting_answerbreach"
STALE = "reporting_breachstale"
POLICY = "reporting_breachpolicy"
PEAKS = "reporting_contactpeak"
RESPONSES = "surveys_surveyresponse"
CASES = "cases_case"
EVENTS = "contactpolicy_contactevent"
COLUMNS = ("response_id", "customer_id", "team_id", "answered_at", "open_case", "recently_closed", "frequency")
# Customers per statement of rebuild() (a range of ids): about ten answers each at 10,000,000.
BATCH = 50_000
# Marks per fold() transaction (their customers travel as parameters: SQLite takes at most 32,766).
FOLD_MARKS = 5_000
PREFIX = "reporting_breach"  # the triggers' names
LOCK_KEY = 2300025  # pg_advisory_xact_lock: one fold or rebuild at a time


def policy_key(policy) -> str:
    """The rules the rows depend on, in one string (the quiet hours do not enter the report)."""
    return f"{policy.max_surveys}/{policy.period_days}/{int(bool(policy.open_case_blocks))}/{policy.days_after_close}"


def _minus(conn, column: str, days: int) -> tuple[str, list]:
    """SQL for `column` minus `days` days, exact to the microsecond on both databases (SQLite holds
    times as text: Django's own function does the arithmetic there, as the ORM does)."""
    if conn.vendor == "postgresql":
        return f"({column} - %s)", [dt.timedelta(days=days)]
    return conn.ops.combine_duration_expression("-", [column, "%s"]), [days * 86_400_000_000]


def flags_sql(answers_sql: str, answers_params: list, policy, conn, *, start=None, end=None) -> tuple[str, list, str, list]:
    """The flags of the answers `answers_sql` selects (columns id, customer_id, answered_at,
    team_id; all with a customer): a WITH clause naming them `v`, and a SELECT of the breaching
    ones as (id, customer_id, team_id, answered_at, open_case, recently_closed, frequency), the
    flags 0 or 1. Set-based: the answers joined once to their customers' cases and once to their
    customers' answers in the policy period before. `start` and `end`, when the answers lie between
    them, bound what is read: cases open or closed since start minus the rest days (two index-only
    range reads of cases_case_contact_reach), earlier answers from start minus period_days (so the
    monthly partitions prune); without them, the cases and answers of the answers' customers are
    read (their indexes by customer). A rule switched off in the policy is left out."""
    adapt = conn.ops.adapt_datetimefield_value
    group = "v.id, v.customer_id, v.team_id, v.answered_at"
    branches, params = [], []
    open_sql = "1 = 0"
    if policy.open_case_blocks:
        open_sql = ("c.created_at < v.answered_at AND (c.closed_at IS NULL OR c.closed_at > v.answered_at) "
                    "AND (c.response_id IS NULL OR c.response_id <> v.id)")
    rest_sql, rest_params = "1 = 0", []
    if policy.days_after_close:
        rest_from, rest_params = _minus(conn, "v.answered_at", policy.days_after_close)
        rest_sql = f"c.closed_at < v.answered_at AND c.closed_at >= {rest_from}"
    if policy.open_case_blocks or policy.days_after_close:
        cases, reach_params = (f"(SELECT customer_id, created_at, closed_at, response_id FROM {CASES} "
                               f"WHERE customer_id IN (SELECT customer_id FROM v))"), []
        if start:
            columns = "customer_id, created_at, closed_at, response_id"
            cases = (f"(SELECT {columns} FROM {CASES} WHERE closed_at IS NULL "
                     f"UNION ALL SELECT {columns} FROM {CASES} WHERE closed_at >= %s)")
            reach_params = [adapt(start - dt.timedelta(days=policy.days_after_close))]
        branches.append(
            f"SELECT {group}, MAX(CASE WHEN {open_sql} THEN 1 ELSE 0 END) AS open_case, "
            f"MAX(CASE WHEN {rest_sql} THEN 1 ELSE 0 END) AS recently_closed, 0 AS frequency "
            f"FROM v JOIN {cases} c ON c.customer_id = v.customer_id "
            f"WHERE ({open_sql}) OR ({rest_sql}) GROUP BY {group}")
        params += [*rest_params, *reach_params, *rest_params]
    if policy.max_surveys:
        period_from, period_params = _minus(conn, "v.answered_at", policy.period_days)
        bounds, bound_params = "", []
        if start:  # literal bounds: the partitions outside them are not read
            bounds += " AND r.answered_at >= %s"
            bound_params.append(adapt(start - dt.timedelta(days=policy.period_days)))
        if end:
            bounds += " AND r.answered_at < %s"
            bound_params.append(adapt(end))
        # The answers' customers' answers, read customer by customer from the index (customer,
        # answered_at), then matched to each of their answers.
        branches.append(
            f"SELECT {group}, 0 AS open_case, 0 AS recently_closed, 1 AS frequency "
            f"FROM v JOIN (SELECT r.customer_id, r.answered_at FROM {RESPONSES} r "
            f"WHERE r.customer_id IN (SELECT customer_id FROM v){bounds}) r ON r.customer_id = v.customer_id "
            f"WHERE r.answered_at < v.answered_at AND r.answered_at >= {period_from} "
            f"GROUP BY {group} HAVING COUNT(*) >= %s")
        params += [*bound_params, *period_params, policy.max_surveys]
    if not branches:
        select = ("SELECT v.id AS id, v.customer_id AS customer_id, v.team_id AS team_id, v.answered_at AS answered_at, "
                  "0 AS open_case, 0 AS recently_closed, 0 AS frequency FROM v WHERE 1 = 0")
    else:
        select = (f"SELECT f.id AS id, f.customer_id AS customer_id, f.team_id AS team_id, f.answered_at AS answered_at, "
                  f"MAX(f.open_case) AS open_case, MAX(f.recently_closed) AS recently_closed, "
                  f"MAX(f.frequency) AS frequency FROM ({' UNION ALL '.join(branches)}) f "
                  f"GROUP BY f.id, f.customer_id, f.team_id, f.answered_at")
    return f"WITH v AS ({answers_sql})", list(answers_params), select, params


def contacts_sql(condition: str) -> str:
    """Every survey contact (customer_id, at) of the customers `condition` selects (SQL over a column
    customer_id; its parameters are needed twice), counted raw: their answers and the contacts
    recorded for them."""
    return (f"SELECT customer_id, answered_at AS at FROM {RESPONSES} WHERE customer_id IS NOT NULL AND {condition} "
            f"UNION ALL SELECT customer_id, at FROM {EVENTS} WHERE {condition}")


def peaks_sql(condition: str, params: list, policy, conn) -> tuple[str, list]:
    """A SELECT of (customer_id, at): each moment of a contact of the customers `condition` selects
    (contacts_sql) at which they had more than max_surveys contacts from period_days before it to it,
    both included. PostgreSQL counts with a window over each customer's contacts in time order;
    SQLite, whose times are text (no interval frame), joins each moment to the customer's contacts."""
    contacts = contacts_sql(condition)
    if conn.vendor == "postgresql":
        return (f"SELECT DISTINCT w.customer_id, w.at FROM (SELECT c.customer_id, c.at, COUNT(*) OVER ("
                f"PARTITION BY c.customer_id ORDER BY c.at RANGE BETWEEN %s PRECEDING AND CURRENT ROW) AS n "
                f"FROM ({contacts}) c) w WHERE w.n > %s",
                [dt.timedelta(days=policy.period_days), *params, *params, policy.max_surveys])
    period_from, period_params = _minus(conn, "m.at", policy.period_days)
    return (f"SELECT m.customer_id, m.at FROM (SELECT DISTINCT customer_id, at FROM ({contacts}) x) m "
            f"JOIN ({contacts}) c ON c.customer_id = m.customer_id AND c.at <= m.at AND c.at >= {period_from} "
            f"GROUP BY m.customer_id, m.at HAVING COUNT(*) > %s",
            [*params, *params, *params, *params, *period_params, policy.max_surveys])


def answers(queryset) -> tuple[str, list]:
    """(id, customer_id, answered_at, team_id) of `queryset`'s answers with a customer, as SQL."""
    queryset = queryset.exclude(customer_id=None).order_by().values("id", "customer_id", "answered_at", "team_id")
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    return sql, list(params)


def _current_policy():
    """The policy as saved (its defaults when none is: reading it writes nothing)."""
    from contactpolicy.models import ContactPolicy

    return ContactPolicy.objects.filter(id=1).first() or ContactPolicy(id=1)


def _write(cursor, queryset, policy) -> int:
    """Write the rows of the answers `queryset` selects (every answer of some customers)."""
    sql, params = answers(queryset)
    cte, cte_params, select, select_params = flags_sql(sql, params, policy, connection)
    cursor.execute(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) {cte} "  # the row count on SQLite too
                   f"SELECT b.id, b.customer_id, b.team_id, b.answered_at, b.open_case = 1, b.recently_closed = 1, "
                   f"b.frequency = 1 FROM ({select}) b", [*cte_params, *select_params])
    return cursor.rowcount


def _write_peaks(cursor, condition: str, params: list, policy) -> int:
    """Write the peaks of the customers `condition` selects (none without a survey limit)."""
    if not policy.max_surveys:
        return 0
    sql, sql_params = peaks_sql(condition, params, policy, connection)
    cursor.execute(f"INSERT INTO {PEAKS} (customer_id, at) {sql}", sql_params)
    return cursor.rowcount


def _replace(cursor, customers: list[int], policy) -> int:
    """Replace the rows of `customers` with what the source rows say now: theirs, and those of their
    answers still filed under another customer (an answer moved by a merge whose other customer is
    refreshed in a later fold); and their peaks."""
    marks = ", ".join(["%s"] * len(customers))
    cursor.execute(f"DELETE FROM {TABLE} WHERE customer_id IN ({marks})", customers)
    cursor.execute(f"DELETE FROM {TABLE} WHERE response_id IN (SELECT id FROM {RESPONSES} "
                   f"WHERE customer_id IN ({marks}))", customers)
    cursor.execute(f"DELETE FROM {PEAKS} WHERE customer_id IN ({marks})", customers)
    _write_peaks(cursor, f"customer_id IN ({marks})", customers, policy)
    return _write(cursor, SurveyResponse.objects.filter(customer_id__in=customers), policy)


def stored_under(conn, policy) -> bool:
    """Whether the stored rows (breaches and peaks) are of `policy`, read on `conn` (a report's
    replica, say)."""
    with conn.cursor() as cursor:
        return stored_key(cursor) == policy_key(policy)


def stored_key(cursor) -> str | None:
    cursor.execute(f"SELECT key FROM {POLICY} WHERE id = 1")
    row = cursor.fetchone()
    return row[0] if row else None


def fold(limit: int = FOLD_MARKS) -> int:
    """Recompute the rows of up to `limit` stale customers and clear their marks, in one
    transaction (a mark written meanwhile by another transaction stays, for the next fold).
    Returns the customers refreshed. Nothing while the rows are of another policy (rebuild())."""
    policy = _current_policy()
    with transaction.atomic(), connection.cursor() as cursor:
        stale_marks.lock(cursor, LOCK_KEY)
        if stored_key(cursor) != policy_key(policy):
            return 0
        customers = stale_marks.take_marks(cursor, STALE, limit)
        if not customers:
            return 0
        for start in range(0, len(customers), 1000):
            _replace(cursor, customers[start:start + 1000], policy)
        return len(customers)


def fold_all() -> int:
    """The beat's upkeep: every stale customer refreshed, or every row rebuilt when the policy
    changed since they were computed. Returns the customers refreshed (or rows rebuilt)."""
    with connection.cursor() as cursor:
        if stored_key(cursor) != policy_key(_current_policy()):
            return rebuild()
    folded = total = fold()
    while folded:
        folded = fold()
        total += folded
    return total


def rebuild(with_peaks: bool = True) -> int:
    """Recreate the triggers, then every row under the current policy, BATCH customers (a range of
    ids) per transaction when called outside one (the triggers mark what changes meanwhile; the
    marks of a range written are cleared with it); the policy is recorded last, so the report
    reads the rows only once they are all of it. Idempotent. Returns the breaching answers written.
    `with_peaks=False`: reporting 0012, before the peaks (reporting 0023) and their triggers."""
    policy = _current_policy()
    sources = (RESPONSES, EVENTS) if with_peaks else (RESPONSES,)
    with transaction.atomic(), connection.cursor() as cursor:
        stale_marks.lock(cursor, LOCK_KEY)
        for statement in trigger_sql(WATCHED if with_peaks else WATCHED_0012):
            cursor.execute(statement)
        cursor.execute(f"DELETE FROM {POLICY}")
        cursor.execute(" UNION ALL ".join(f"SELECT MIN(customer_id), MAX(customer_id) FROM {table}" for table in sources))
        ranges = [(low, high) for low, high in cursor.fetchall() if low is not None]
        low, high = (min(r[0] for r in ranges), max(r[1] for r in ranges)) if ranges else (0, -1)
        for table in (TABLE, PEAKS) if with_peaks else (TABLE,):
            cursor.execute(f"DELETE FROM {table} WHERE customer_id < %s OR customer_id > %s", [low, high])
    written = 0
    for start in range(low, high + 1, BATCH):
        with transaction.atomic(), connection.cursor() as cursor:
            stale_marks.lock(cursor, LOCK_KEY)
            batch = [start, start + BATCH]
            cursor.execute(f"DELETE FROM {STALE} WHERE customer_id >= %s AND customer_id < %s", batch)
            cursor.execute(f"DELETE FROM {TABLE} WHERE customer_id >= %s AND customer_id < %s", batch)
            written += _write(cursor, SurveyResponse.objects.filter(customer_id__gte=start, customer_id__lt=start + BATCH),
                              policy)
            if with_peaks:
                cursor.execute(f"DELETE FROM {PEAKS} WHERE customer_id >= %s AND customer_id < %s", batch)
                _write_peaks(cursor, "customer_id >= %s AND customer_id < %s", batch, policy)
    with transaction.atomic(), connection.cursor() as cursor:
        stale_marks.lock(cursor, LOCK_KEY)
        cursor.execute(f"DELETE FROM {POLICY}")
        cursor.execute(f"INSERT INTO {POLICY} (id, key, built_at) VALUES (1, %s, %s)",
                       [policy_key(policy), connection.ops.adapt_datetimefield_value(timezone.now())])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in (TABLE, STALE, PEAKS) if with_peaks else (TABLE, STALE):
                cursor.execute(f"ANALYZE {table}")
    return written


# --- triggers: which customers a change makes stale -------------------------------------------
# Per table: the columns whose change matters (an answer's customer, team and time; a case's
# customer, times and opening response; a recorded contact's customer and time, for the peaks).
WATCHED_0012 = {
    RESPONSES: Watch(("customer_id", "team_id", "answered_at")),
    CASES: Watch(("customer_id", "created_at", "closed_at", "response_id")),
}
WATCHED = {**WATCHED_0012, EVENTS: Watch(("customer_id", "at"))}


def trigger_sql(watched: dict[str, Watch] = WATCHED) -> list[str]:
    """The statements that (re)create the triggers for the current database (`watched`: an earlier
    migration's tables)."""
    return stale_marks.trigger_sql(PREFIX, STALE, watched)


def drop_trigger_sql() -> list[str]:
    return stale_marks.drop_trigger_sql(PREFIX, WATCHED)
