"""The SLA sweep: newly overdue and due-soon cases and the escalation ladder, each recorded
once, and the bulk priority raise the ladder uses."""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction

from accounts.models import Membership, Priority, Team, User
from cases import live, notifications
from cases.models import (
    Case,
    CaseEvent,
    Notification,
    NotificationKind,
)
from cases.selectors import clock_sql
from cases.services.flow import (
    Kind,
    Status,
    _now,
)
from cases.sla import DUE_SOON
from cases.timeline import SAID_ESCALATED, said

# --- the SLA sweep (set-based) -------------------------------------------------------------
# A batch notification lists at most this many case references (and says how many there are).
BATCH_LIST = 50


class SweepResult(dict):
    """Counts of what one sweep did: overdue, due_soon, escalated, priority_raised, notifications."""


def _returning(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _dt(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


@transaction.atomic
def cases_raise_priority(*, case_ids: list[int], by=None, reason: str = "", why: dict | None = None,
                         at: dt.datetime | None = None) -> list[int]:
    """Raise each open case's priority one step (low -> normal -> high -> urgent), with a PRIORITY
    event and a version bump: the bulk twin of case_change_priority, for the escalation ladder.
    `reason`: a person's words; `why`: what the product says (cases.timeline.said), in the reader's language.
    Set-based: one UPDATE ... RETURNING per step and chunk. Returns the ids raised."""
    at = _now(at)
    table = Case._meta.db_table
    order = list(Priority.values)
    raised: list[tuple[int, str, str, int]] = []
    pending = set(case_ids)
    for current in reversed(order[:-1]):  # high first, so a case moves one step only
        following = order[order.index(current) + 1]
        for chunk in _chunks(sorted(pending), 5000):
            marks = ", ".join(["%s"] * len(chunk))
            rows = _returning(
                f"UPDATE {table} SET priority = %s, version = version + 1, updated_at = %s "
                f"WHERE id IN ({marks}) AND priority = %s AND status <> %s RETURNING id, version",
                [following, _dt(at), *chunk, current, Status.CLOSED],
            )
            for case_id, version in rows:
                raised.append((case_id, current, following, version))
                pending.discard(case_id)
    CaseEvent.objects.bulk_create(
        [CaseEvent(case_id=cid, kind=Kind.PRIORITY, actor=by, from_value=old, to_value=new, note=reason, data=why or {},
                   version=version, created_at=at) for cid, old, new, version in raised],
        batch_size=5000,
    )
    return [cid for cid, *_ in raised]


@transaction.atomic
def cases_sweep_sla(*, now: dt.datetime | None = None) -> SweepResult:
    """Record newly overdue and due-soon cases and run the escalation ladder, each exactly once.

    Each step claims its rows with a conditional UPDATE ... RETURNING (WHERE overdue_at IS NULL,
    WHERE escalation_level = 1 ...), so a concurrent sweep blocks on the same rows and then finds
    them already claimed: one event and one notification per case, however many sweeps run.
    Level 1 (on becoming overdue): notify the assignee and the team's managers.
    Level 2 (team.escalation_delay_minutes later): notify the escalation contact and, unless the
    team is notify-only, raise the priority one step (cases_raise_priority).

    Each step is a claim, then INSERT ... SELECT statements reading the claimed rows (the
    events, the notifications): the work stays in the database whatever the volume. On
    PostgreSQL a step is one statement (data-modifying CTEs); SQLite has none, so there the
    claimed rows go into a temporary table the same INSERTs read (see _step).

    What "overdue" and "due soon" mean is the one rule the inbox, its counts and the reports use
    (cases.models.case.clocks_out_q and clocks_due_by_q, compiled once per database by
    cases.selectors.clock_sql), not a second copy written here."""
    now = _now(now)
    t = _tables()
    out_sql, _n, due_by_sql, _m = clock_sql(connection)
    clocks_out = out_sql.replace("%s", "%(now)s")  # compiled with the moment as its only parameter
    due_by = due_by_sql.replace("%s", "%(horizon)s")
    params = {"now": _dt(now), "period": now.isoformat(), "closed": Status.CLOSED, "horizon": _dt(now + DUE_SOON)}
    result = SweepResult(overdue=0, due_soon=0, escalated=0, priority_raised=0, notifications=0)
    count = "SELECT count(*) FROM claimed"

    # 1. Newly overdue (level 1): the assignee and the team's managers, and the team's channels.
    people = (f"SELECT c.id AS case_id, c.reference, c.assignee_id AS user_id FROM claimed c "
              f"WHERE c.assignee_id IS NOT NULL "
              f"UNION SELECT c.id, c.reference, m.user_id FROM claimed c JOIN {t['member']} m "
              f"ON m.team_id = c.team_id AND m.is_manager")
    overdue_teams, queued = _step(
        claim=f"""
        UPDATE {t['case']} SET overdue_at = %(now)s, escalation_level = 1, escalated_at = %(now)s
        WHERE status <> %(closed)s AND overdue_at IS NULL AND {clocks_out}
        RETURNING id, team_id, assignee_id, reference,
                  (first_contacted_at IS NULL AND first_contact_due < %(now)s) AS first_missed""",
        events="""
        SELECT id, 'overdue', NULL, '', CASE WHEN first_missed THEN 'first contact' ELSE 'resolution' END,
               '', '{"escalation_level": 1}', 0, %(now)s
        FROM claimed""",
        notices=[_queue_sql(t, NotificationKind.OVERDUE, _people_source(t, NotificationKind.OVERDUE, people)),
                 _queue_sql(t, NotificationKind.OVERDUE, _chat_source(t))],
        select="SELECT team_id, count(*) FROM claimed GROUP BY team_id", params=params,
    )
    result["overdue"] = sum(n for _team, n in overdue_teams)
    result["notifications"] += queued

    # 2. Due soon: the assignee.
    people = "SELECT id AS case_id, reference, assignee_id AS user_id FROM claimed WHERE assignee_id IS NOT NULL"
    ((result["due_soon"],),), queued = _step(
        claim=f"""
        UPDATE {t['case']} SET due_soon_notified_at = %(now)s
        WHERE status <> %(closed)s AND due_soon_notified_at IS NULL AND overdue_at IS NULL
          AND NOT {clocks_out} AND {due_by}
        RETURNING id, team_id, assignee_id, reference, false""",
        events="SELECT id, 'due_soon', NULL, '', '', '', '{}', 0, %(now)s FROM claimed",
        notices=[_queue_sql(t, NotificationKind.DUE_SOON, _people_source(t, NotificationKind.DUE_SOON, people))],
        select=count, params=params,
    )
    result["notifications"] += queued

    # 3. Level 2, after the team's own delay (read in the statement): the escalation contact and
    # the team's channels. Date arithmetic is where the two databases' SQL must differ.
    if connection.vendor == "postgresql":
        claim = f"""
        UPDATE {t['case']} c SET escalation_level = 2, escalated_at = %(now)s
        FROM {t['team']} tm
        WHERE tm.id = c.team_id AND c.status <> %(closed)s AND c.escalation_level = 1 AND c.overdue_at IS NOT NULL
          AND c.overdue_at <= %(now)s - tm.escalation_delay_minutes * interval '1 minute'
        RETURNING c.id, c.team_id, c.assignee_id, c.reference, false"""
    else:  # SQLite: no interval type, and RETURNING may not name an UPDATE ... FROM table
        claim = f"""
        UPDATE {t['case']} SET escalation_level = 2, escalated_at = %(now)s
        WHERE status <> %(closed)s AND escalation_level = 1 AND overdue_at IS NOT NULL
          AND julianday(overdue_at) <= julianday(%(now)s) - (
              SELECT tm.escalation_delay_minutes FROM {t['team']} tm WHERE tm.id = {t['case']}.team_id) / 1440.0
        RETURNING id, team_id, assignee_id, reference, false"""
    people = (f"SELECT c.id AS case_id, c.reference, c.assignee_id AS user_id FROM claimed c "
              f"WHERE c.assignee_id IS NOT NULL "
              f"UNION SELECT c.id, c.reference, m.user_id FROM claimed c JOIN {t['member']} m "
              f"ON m.team_id = c.team_id AND m.is_manager")  # in the notification centre
    contact = (f"SELECT 'email' AS channel, CAST(NULL AS bigint) AS recipient, tm.escalation_email AS address, "
               f"c.id AS case_id, c.reference FROM claimed c JOIN {t['team']} tm ON tm.id = c.team_id "
               f"WHERE tm.escalation_email <> ''")
    escalated, queued = _step(
        claim=claim,
        events="""
        SELECT id, 'escalated', NULL, '', '2', '', '{"escalation_level": 2}', 0, %(now)s FROM claimed""",
        notices=[_queue_sql(t, NotificationKind.ESCALATED, contact),
                 _queue_sql(t, NotificationKind.ESCALATED, _chat_source(t)),
                 _queue_sql(t, NotificationKind.ESCALATED, _in_app_source(t, people))],
        select=(f"SELECT c.id, tm.escalation <> 'notify_only', c.team_id FROM claimed c "
                f"JOIN {t['team']} tm ON tm.id = c.team_id"),
        params=params,
    )
    result["escalated"] = len(escalated)
    result["notifications"] += queued
    ladder = sorted(case_id for case_id, raise_priority, _team in escalated if raise_priority)
    if ladder:
        result["priority_raised"] = len(cases_raise_priority(
            case_ids=ladder, why=said(SAID_ESCALATED), at=now))
    notifications.dispatch_on_commit()
    # Open inboxes and dashboards of these teams show "updated" (case pages read overdue_at), and
    # the bells of the people the escalations went to (their in-app rows were written in SQL).
    live.touch(team_ids={team for team, _n in overdue_teams} | {team for *_c, team in escalated},
               user_ids=_escalated_people(escalated))
    return result


def _tables() -> dict:
    return {"case": Case._meta.db_table, "event": CaseEvent._meta.db_table,
            "note": Notification._meta.db_table, "pref": "cases_notificationpreference",
            "member": Membership._meta.db_table, "user": User._meta.db_table, "team": Team._meta.db_table}


def _step(*, claim: str, events: str, notices: list[str], select: str, params: dict) -> tuple[list[tuple], int]:
    """One sweep step: `claim` (an UPDATE ... RETURNING id, team_id, assignee_id, reference,
    first_missed) takes the rows; `events` (a SELECT of CaseEvent columns) and `notices` (INSERTs
    of notifications) read them as `claimed`. Returns the rows of `select` (over `claimed`) and
    how many notifications were queued."""
    t = _tables()
    events = (f"INSERT INTO {t['event']} (case_id, kind, actor_id, from_value, to_value, note, data, version, "
              f"created_at) {events}")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # one statement: data-modifying CTEs
            queued = " + ".join(f"(SELECT count(*) FROM queued{i})" for i in range(len(notices))) or "0"
            ctes = [f"claimed AS ({claim})", f"events AS ({events})"]
            ctes += [f"queued{i} AS ({sql} RETURNING 1)" for i, sql in enumerate(notices)]
            cursor.execute(f"WITH {', '.join(ctes)} SELECT s.*, {queued} FROM ({select}) s", params)
            rows = cursor.fetchall()
            return [row[:-1] for row in rows], (rows[0][-1] if rows else 0)
        # SQLite (the embedded demo): no UPDATE inside WITH, so the claimed rows wait in a
        # temporary table that the same INSERT ... SELECT statements read.
        cursor.execute("CREATE TEMP TABLE claimed (id, team_id, assignee_id, reference, first_missed)")
        try:
            cursor.execute(claim, params)
            cursor.executemany("INSERT INTO claimed VALUES (%s, %s, %s, %s, %s)", cursor.fetchall())
            cursor.execute(events, params)
            queued = 0
            for sql in notices:
                cursor.execute(sql, params)
                queued += cursor.rowcount
            cursor.execute(select, params)
            return cursor.fetchall(), queued
        finally:
            cursor.execute("DROP TABLE claimed")


def _people_source(t: dict, kind: str, people: str) -> str:
    """Who to e-mail about `kind`: `people` is a SELECT of (case_id, reference, user_id) pairs;
    active users with an address who did not switch `kind` off."""
    return (f"SELECT 'email' AS channel, u.id AS recipient, u.email AS address, r.case_id, r.reference "
            f"FROM ({people}) r JOIN {t['user']} u ON u.id = r.user_id AND u.is_active AND u.email <> '' "
            f"WHERE NOT EXISTS (SELECT 1 FROM {t['pref']} p WHERE p.user_id = u.id AND p.kind = '{kind}' "
            f"AND NOT p.enabled)")


def _escalated_people(escalated: list[tuple]) -> set[int]:
    """The assignees of the escalated cases and their teams' managers (two queries, only when
    something was escalated)."""
    if not escalated:
        return set()
    people = set(Case.objects.filter(pk__in=[c[0] for c in escalated], assignee__isnull=False)
                 .values_list("assignee_id", flat=True))
    return people | set(Membership.objects.filter(team_id__in={c[2] for c in escalated}, is_manager=True)
                        .values_list("user_id", flat=True))


def _in_app_source(t: dict, people: str) -> str:
    """The notification centre's rows for `people` (case_id, reference, user_id): every active
    user, whatever their e-mail preference (cases.inapp)."""
    return (f"SELECT 'in_app' AS channel, u.id AS recipient, 'user:' || CAST(u.id AS varchar(20)) AS address, "
            f"r.case_id, r.reference FROM ({people}) r JOIN {t['user']} u ON u.id = r.user_id AND u.is_active")


def _chat_source(t: dict) -> str:
    """The claimed cases' teams' Slack and Microsoft Teams webhooks."""
    url = "CASE x.channel WHEN 'slack' THEN tm.slack_webhook_url ELSE tm.msteams_webhook_url END"
    return (f"SELECT x.channel, CAST(NULL AS bigint) AS recipient, {url} AS address, c.id AS case_id, c.reference "
            f"FROM claimed c JOIN {t['team']} tm ON tm.id = c.team_id "
            f"CROSS JOIN (SELECT 'slack' AS channel UNION ALL SELECT 'msteams') x WHERE {url} <> ''")


def _queue_sql(t: dict, kind: str, source: str) -> str:
    """INSERT the `kind` notifications for `source`, a SELECT of (channel, recipient, address,
    case_id, reference): one row per recipient and channel per sweep, about the case when it is
    one, a batch listing the cases (context {"count", "references"}) when a sweep finds several
    for the same person, so a backlog of a thousand overdue cases is one e-mail, not a thousand.
    The outbox's unique indexes make a repeated insert a no-op. Only the JSON differs by database."""
    if connection.vendor == "postgresql":
        context = (f"CASE WHEN count(*) = 1 THEN '{{}}'::jsonb ELSE jsonb_build_object('count', count(*), "
                   f"'references', to_jsonb((array_agg(s.reference ORDER BY s.case_id))[1:{BATCH_LIST}])) END")
    else:  # SQLite 3.40 has no ORDER BY inside an aggregate: the first references come from a subquery
        first = (f"SELECT s2.reference FROM ({source}) s2 WHERE s2.channel = s.channel AND s2.recipient IS s.recipient "
                 f"AND s2.address = s.address ORDER BY s2.case_id LIMIT {BATCH_LIST}")
        context = (f"CASE WHEN count(*) = 1 THEN '{{}}' ELSE json_object('count', count(*), "
                   f"'references', json((SELECT json_group_array(reference) FROM ({first})))) END")
    return f"""
        INSERT INTO {t['note']} (case_id, kind, channel, recipient_id, address, period, subject, body, context,
                                 status, attempts, next_attempt_at, error, created_at)
        SELECT CASE WHEN count(*) = 1 THEN min(s.case_id) END, '{kind}', s.channel, s.recipient, s.address,
               %(period)s, '', '', {context}, 'pending', 0, %(now)s, '', %(now)s
        FROM ({source}) s WHERE true
        GROUP BY s.channel, s.recipient, s.address
        ON CONFLICT DO NOTHING"""
