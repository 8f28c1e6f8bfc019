"""The SLA sweep: newly overdue and due-soon cases and the escalation ladder, each recorded
once, and the bulk priority raise the ladder uses."""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction

from accounts.models import Membership, Priority, Team, User
from cases import notifications
from cases.models import (
    Case,
    CaseEvent,
    Notification,
    NotificationKind,
)
from cases.services.flow import (
    Kind,
    Status,
    _now,
)
from cases.sla import DUE_SOON

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
def cases_raise_priority(*, case_ids: list[int], by=None, reason: str, at: dt.datetime | None = None) -> list[int]:
    """Raise each open case's priority one step (low -> normal -> high -> urgent), with a PRIORITY
    event and a version bump: the bulk twin of case_change_priority, for the escalation ladder.
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
        [CaseEvent(case_id=cid, kind=Kind.PRIORITY, actor=by, from_value=old, to_value=new, note=reason,
                   version=version, created_at=at) for cid, old, new, version in raised],
        batch_size=5000,
    )
    return [cid for cid, *_ in raised]


def _batched(kind: str, channel: str, address: str, period: str, cases: list[tuple[int, str]], *,
             recipient_id=None) -> Notification:
    """One outbox row for one recipient (or team channel) and the cases one sweep found for it:
    about the case when it is one, else a batch (context: count and the first references)."""
    cases = sorted(cases)
    if len(cases) == 1:
        case_id, context = cases[0][0], {}
    else:
        case_id, context = None, {"count": len(cases), "references": [ref for _, ref in cases[:BATCH_LIST]]}
    return Notification(case_id=case_id, kind=kind, channel=channel, recipient_id=recipient_id, address=address,
                        period=period, context=context)


def _people_rows(claimed, kind: str, period: str, *, to_assignee: bool, to_managers: bool, teams: dict) -> list:
    """Notification rows for (case_id, team_id, assignee_id, reference) tuples: assignee and/or team
    managers by e-mail (honouring preferences), plus the team's chat channels; one row per
    recipient and channel (see _batched). Three queries in all."""
    team_ids = {team_id for _, team_id, _, _ in claimed}
    managers: dict[int, set[int]] = {}
    if to_managers:
        for team_id, user_id in Membership.objects.filter(team_id__in=team_ids, is_manager=True).values_list(
            "team_id", "user_id"
        ):
            managers.setdefault(team_id, set()).add(user_id)
    wanted = {a for _, _, a, _ in claimed if a and to_assignee} | {u for ids in managers.values() for u in ids}
    wanted = notifications.enabled_users(wanted, kind)
    emails = dict(User.objects.filter(pk__in=wanted, is_active=True).exclude(email="").values_list("id", "email"))
    per_user: dict[int, list] = {}
    per_channel: dict[tuple[str, str], list] = {}
    for case_id, team_id, assignee_id, reference in claimed:
        people = ({assignee_id} if to_assignee and assignee_id else set()) | managers.get(team_id, set())
        for user_id in people:
            if user_id in emails:
                per_user.setdefault(user_id, []).append((case_id, reference))
        team = teams.get(team_id)
        if team is not None:
            for row in notifications.team_channel_rows(case_id=case_id, kind=kind, team=team, period=period):
                per_channel.setdefault((row.channel, row.address), []).append((case_id, reference))
    rows = [_batched(kind, Notification.Channel.EMAIL, emails[user_id], period, cases, recipient_id=user_id)
            for user_id, cases in per_user.items()]
    rows += [_batched(kind, channel, address, period, cases) for (channel, address), cases in per_channel.items()]
    return rows


@transaction.atomic
def cases_sweep_sla(*, now: dt.datetime | None = None) -> SweepResult:
    """Record newly overdue and due-soon cases and run the escalation ladder, each exactly once.

    Each step claims its rows with a conditional UPDATE ... RETURNING (WHERE overdue_at IS NULL,
    WHERE escalation_level = 1 ...), so a concurrent sweep blocks on the same rows and then finds
    them already claimed: one event and one notification per case, however many sweeps run.
    Level 1 (on becoming overdue): notify the assignee and the team's managers.
    Level 2 (team.escalation_delay_minutes later): notify the escalation contact and, unless the
    team is notify-only, raise the priority one step (cases_raise_priority).

    On PostgreSQL each step is one statement (data-modifying CTEs: claim, insert the events,
    insert the notifications), so the work stays in the database whatever the volume; elsewhere
    (SQLite: the embedded demo) the same steps run with the rows passing through Python."""
    now = _now(now)
    if connection.vendor == "postgresql":
        result = _sweep_postgresql(now)
    else:
        result = _sweep_portable(now)
    notifications.dispatch_on_commit()
    return result


def _sweep_portable(now: dt.datetime) -> SweepResult:
    """The sweep with rows through Python (any database with UPDATE ... RETURNING): the same
    claims as the PostgreSQL statements, the events and notifications built here."""
    table = Case._meta.db_table
    period = now.isoformat()
    result = SweepResult(overdue=0, due_soon=0, escalated=0, priority_raised=0, notifications=0)
    teams = {t.pk: t for t in Team.objects.all()}

    # 1. Newly overdue (level 1).
    overdue = _returning(
        f"UPDATE {table} SET overdue_at = %s, escalation_level = 1, escalated_at = %s "
        f"WHERE status <> %s AND overdue_at IS NULL "
        f"AND (resolution_due < %s OR (first_contacted_at IS NULL AND first_contact_due < %s)) "
        f"RETURNING id, team_id, assignee_id, reference, (first_contacted_at IS NULL AND first_contact_due < %s)",
        [_dt(now), _dt(now), Status.CLOSED, _dt(now), _dt(now), _dt(now)],
    )
    events = [
        CaseEvent(case_id=cid, kind=Kind.OVERDUE, to_value="first contact" if first else "resolution",
                  note="First contact is overdue." if first else "Resolution is overdue.",
                  data={"escalation_level": 1}, created_at=now)
        for cid, _, _, _, first in overdue
    ]
    rows = _people_rows([(c, t, a, ref) for c, t, a, ref, _ in overdue], NotificationKind.OVERDUE, period,
                        to_assignee=True, to_managers=True, teams=teams)
    result["overdue"] = len(overdue)

    # 2. Due soon (not overdue yet, a clock runs out within DUE_SOON).
    horizon = now + DUE_SOON
    due_soon = _returning(
        f"UPDATE {table} SET due_soon_notified_at = %s "
        f"WHERE status <> %s AND due_soon_notified_at IS NULL AND overdue_at IS NULL "
        f"AND resolution_due >= %s AND (first_contacted_at IS NOT NULL OR first_contact_due >= %s) "
        f"AND (resolution_due <= %s OR (first_contacted_at IS NULL AND first_contact_due <= %s)) "
        f"RETURNING id, team_id, assignee_id, reference",
        [_dt(now), Status.CLOSED, _dt(now), _dt(now), _dt(horizon), _dt(horizon)],
    )
    events += [CaseEvent(case_id=cid, kind=Kind.DUE_SOON, created_at=now) for cid, _, _, _ in due_soon]
    rows += _people_rows(due_soon, NotificationKind.DUE_SOON, period, to_assignee=True, to_managers=False, teams={})
    result["due_soon"] = len(due_soon)

    # 3. Level 2, per escalation delay (teams sharing a delay share one statement).
    by_delay: dict[int, list[int]] = {}
    for team in teams.values():
        by_delay.setdefault(team.escalation_delay_minutes, []).append(team.pk)
    escalated = []
    for delay, team_ids in by_delay.items():
        marks = ", ".join(["%s"] * len(team_ids))
        escalated += _returning(
            f"UPDATE {table} SET escalation_level = 2, escalated_at = %s "
            f"WHERE status <> %s AND escalation_level = 1 AND overdue_at IS NOT NULL AND overdue_at <= %s "
            f"AND team_id IN ({marks}) RETURNING id, team_id, assignee_id, reference",
            [_dt(now), Status.CLOSED, _dt(now - dt.timedelta(minutes=delay)), *team_ids],
        )
    events += [CaseEvent(case_id=cid, kind=Kind.ESCALATED, to_value="2", data={"escalation_level": 2},
                         note="Escalated: still overdue after the team's escalation delay.", created_at=now)
               for cid, _, _, _ in escalated]
    contacts: dict[str, list] = {}
    for cid, team_id, _, reference in escalated:
        if teams[team_id].escalation_email:
            contacts.setdefault(teams[team_id].escalation_email, []).append((cid, reference))
    rows += [_batched(NotificationKind.ESCALATED, Notification.Channel.EMAIL, address, period, cases)
             for address, cases in contacts.items()]
    rows += _people_rows(escalated, NotificationKind.ESCALATED, period, to_assignee=False, to_managers=False,
                         teams=teams)
    result["escalated"] = len(escalated)
    CaseEvent.objects.bulk_create(events, batch_size=5000)

    ladder = [cid for cid, team_id, _, _ in escalated if teams[team_id].escalation != Team.Escalation.NOTIFY_ONLY]
    if ladder:
        result["priority_raised"] = len(cases_raise_priority(
            case_ids=ladder, reason="Escalated: still overdue after the team's escalation delay.", at=now))

    if rows:
        Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=5000)
        result["notifications"] = len(rows)
    return result


# --- the PostgreSQL sweep: one statement per step ------------------------------------------------
def _tables() -> dict:
    return {"case": Case._meta.db_table, "event": CaseEvent._meta.db_table,
            "note": Notification._meta.db_table, "pref": "cases_notificationpreference",
            "member": Membership._meta.db_table, "user": User._meta.db_table, "team": Team._meta.db_table}


def _notify_sql(t: dict, kind: str, *, people: str, chat: bool) -> str:
    """CTEs queuing `kind` notifications for the cases in `claimed`: `people` is a SELECT of
    (case_id, user_id) pairs; chat adds the team's Slack / Teams webhooks. One row per recipient
    (and per team channel) per sweep: about the case when it is one, a batch listing the cases
    (context {"count", "references"}) when a sweep finds several for the same person, so a
    backlog of a thousand overdue cases is one e-mail, not a thousand. Preferences honoured;
    the outbox's unique indexes make a repeated insert a no-op."""
    columns = ("case_id, kind, channel, recipient_id, address, period, subject, body, context, status, attempts, "
               "next_attempt_at, error, created_at")
    batch = (f"CASE WHEN count(*) = 1 THEN min(r.case_id) END, '{kind}', {{channel}}, {{recipient}}, {{address}}, "
             f"%(period)s, '', '', "
             f"CASE WHEN count(*) = 1 THEN jsonb_build_object() ELSE jsonb_build_object('count', count(*), "
             f"'references', to_jsonb((array_agg(r.reference ORDER BY r.case_id))[1:{BATCH_LIST}])) END, "
             f"'pending', 0, %(now)s, '', %(now)s")
    sql = f""",
    people AS (
        INSERT INTO {t['note']} ({columns})
        SELECT {batch.format(channel="'email'", recipient="u.id", address="u.email")}
        FROM ({people}) r JOIN {t['user']} u ON u.id = r.user_id AND u.is_active AND u.email <> ''
        WHERE NOT EXISTS (SELECT 1 FROM {t['pref']} p WHERE p.user_id = u.id AND p.kind = '{kind}' AND NOT p.enabled)
        GROUP BY u.id, u.email
        ON CONFLICT DO NOTHING RETURNING 1
    )"""
    if chat:
        sql += f""",
    chat AS (
        INSERT INTO {t['note']} ({columns})
        SELECT {batch.format(channel="x.channel", recipient="NULL", address="x.url")}
        FROM (SELECT id AS case_id, team_id, reference FROM claimed) r JOIN {t['team']} tm ON tm.id = r.team_id
        CROSS JOIN LATERAL (VALUES ('slack', tm.slack_webhook_url), ('msteams', tm.msteams_webhook_url)) AS x(channel, url)
        WHERE x.url <> ''
        GROUP BY x.channel, x.url
        ON CONFLICT DO NOTHING RETURNING 1
    )"""
    return sql


def _sweep_postgresql(now: dt.datetime) -> SweepResult:
    t = _tables()
    params = {"now": now, "period": now.isoformat(), "closed": Status.CLOSED, "horizon": now + DUE_SOON}
    result = SweepResult(overdue=0, due_soon=0, escalated=0, priority_raised=0, notifications=0)
    counts = "(SELECT count(*) FROM claimed), (SELECT count(*) FROM people) + (SELECT count(*) FROM chat)"

    # 1. Newly overdue (level 1): the assignee and the team's managers, and the team's channels.
    overdue_people = (f"SELECT c.id AS case_id, c.reference, c.assignee_id AS user_id FROM claimed c "
                      f"WHERE c.assignee_id IS NOT NULL "
                      f"UNION SELECT c.id, c.reference, m.user_id FROM claimed c JOIN {t['member']} m "
                      f"ON m.team_id = c.team_id AND m.is_manager")
    (claimed, queued), = _returning(f"""
    WITH claimed AS (
        UPDATE {t['case']} SET overdue_at = %(now)s, escalation_level = 1, escalated_at = %(now)s
        WHERE status <> %(closed)s AND overdue_at IS NULL
          AND (resolution_due < %(now)s OR (first_contacted_at IS NULL AND first_contact_due < %(now)s))
        RETURNING id, team_id, assignee_id, reference,
                  (first_contacted_at IS NULL AND first_contact_due < %(now)s) AS first
    ),
    events AS (
        INSERT INTO {t['event']} (case_id, kind, actor_id, from_value, to_value, note, data, version, created_at)
        SELECT id, 'overdue', NULL, '', CASE WHEN first THEN 'first contact' ELSE 'resolution' END,
               CASE WHEN first THEN 'First contact is overdue.' ELSE 'Resolution is overdue.' END,
               '{{"escalation_level": 1}}', 0, %(now)s
        FROM claimed
    ){_notify_sql(t, NotificationKind.OVERDUE, people=overdue_people, chat=True)}
    SELECT {counts}""", params)
    result["overdue"], result["notifications"] = claimed, queued

    # 2. Due soon: the assignee.
    (claimed, queued), = _returning(f"""
    WITH claimed AS (
        UPDATE {t['case']} SET due_soon_notified_at = %(now)s
        WHERE status <> %(closed)s AND due_soon_notified_at IS NULL AND overdue_at IS NULL
          AND resolution_due >= %(now)s AND (first_contacted_at IS NOT NULL OR first_contact_due >= %(now)s)
          AND (resolution_due <= %(horizon)s OR (first_contacted_at IS NULL AND first_contact_due <= %(horizon)s))
        RETURNING id, team_id, assignee_id, reference
    ),
    events AS (
        INSERT INTO {t['event']} (case_id, kind, actor_id, from_value, to_value, note, data, version, created_at)
        SELECT id, 'due_soon', NULL, '', '', '', '{{}}', 0, %(now)s FROM claimed
    ){_notify_sql(t, NotificationKind.DUE_SOON,
                  people="SELECT id AS case_id, reference, assignee_id AS user_id FROM claimed "
                         "WHERE assignee_id IS NOT NULL",
                  chat=False)},
    chat AS (SELECT 1 WHERE false)
    SELECT {counts}""", params)
    result["due_soon"], result["notifications"] = claimed, result["notifications"] + queued

    # 3. Level 2: the team's own delay, read in the statement; escalation contact + channels.
    escalated = _returning(f"""
    WITH claimed AS (
        UPDATE {t['case']} c SET escalation_level = 2, escalated_at = %(now)s
        FROM {t['team']} tm
        WHERE tm.id = c.team_id AND c.status <> %(closed)s AND c.escalation_level = 1 AND c.overdue_at IS NOT NULL
          AND c.overdue_at <= %(now)s - tm.escalation_delay_minutes * interval '1 minute'
        RETURNING c.id, c.team_id, c.reference, tm.escalation <> 'notify_only' AS raise_priority
    ),
    events AS (
        INSERT INTO {t['event']} (case_id, kind, actor_id, from_value, to_value, note, data, version, created_at)
        SELECT id, 'escalated', NULL, '', '2', 'Escalated: still overdue after the team''s escalation delay.',
               '{{"escalation_level": 2}}', 0, %(now)s FROM claimed
    ),
    contact AS (
        INSERT INTO {t['note']} (case_id, kind, channel, recipient_id, address, period, subject, body, context,
                                 status, attempts, next_attempt_at, error, created_at)
        SELECT CASE WHEN count(*) = 1 THEN min(c.id) END, 'escalated', 'email', NULL, tm.escalation_email,
               %(period)s, '', '',
               CASE WHEN count(*) = 1 THEN '{{}}'::jsonb ELSE jsonb_build_object('count', count(*), 'references',
                    to_jsonb((array_agg(c.reference ORDER BY c.id))[1:{BATCH_LIST}])) END,
               'pending', 0, %(now)s, '', %(now)s
        FROM claimed c JOIN {t['team']} tm ON tm.id = c.team_id WHERE tm.escalation_email <> ''
        GROUP BY tm.escalation_email
        ON CONFLICT DO NOTHING
    ){_notify_sql(t, NotificationKind.ESCALATED,
                  people="SELECT NULL::bigint AS case_id, NULL::text AS reference, NULL::bigint AS user_id WHERE false",
                  chat=True)}
    SELECT id, raise_priority FROM claimed""", params)
    result["escalated"] = len(escalated)
    ladder = [case_id for case_id, raise_priority in escalated if raise_priority]
    if ladder:
        result["priority_raised"] = len(cases_raise_priority(
            case_ids=ladder, reason="Escalated: still overdue after the team's escalation delay.", at=now))
    return result
