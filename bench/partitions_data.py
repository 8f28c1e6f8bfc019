"""The partitions bench's data beside the reports bench's (bench/reports_data.py: responses,
customers, cases with their opening and answered-again responses, theme tags): case events,
outcome events, webhook deliveries, notifications, and the rest of what points at a response
(alerts, case links, recognitions), at the demo's ratios. SQL generate_series, secondary indexes
dropped during the load and rebuilt after, VACUUM ANALYZE. Runs in bench.bench_partitions' child,
on the plain tables (before the conversions)."""

from __future__ import annotations

import time

MONTHS = 36
ALERT_EVERY = 20  # one response in 20 raises an alert (the demo's alert rules on detractors)
RECOGNITION_EVERY = 100  # one response in 100 is a promoter naming a member of staff
SECOND_LINK_EVERY = 5  # one case in 5 has a later response attached besides its opening one


def fill_case_events(n_events: int, n_cases: int) -> float:
    from django.db import connection

    from bench.reports_data import _bulk_load, _insert_select, _reset_sequence
    from cases.models import CaseEvent

    started = time.monotonic()
    minutes = MONTHS * 30 * 24 * 60
    with _bulk_load(CaseEvent):
        _insert_select(CaseEvent, {
            "id": "j",
            "case_id": f"1 + j % {n_cases}",
            "kind": "(ARRAY['opened','note','status','contact','closed','assigned'])[1 + j % 6]",
            "from_value": "''", "to_value": "''",
            "note": "CASE WHEN j % 6 = 1 THEN 'Called the customer back' ELSE '' END",
            "data": "'{}'::jsonb",
            "version": "1 + j % 7",
            "created_at": f"now() - ((j::bigint * 7907) % {minutes}) * interval '1 minute'",
        }, f"generate_series(1, {n_events}) AS j")
    _reset_sequence(CaseEvent)
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE cases_caseevent")
    return time.monotonic() - started


def fill_deliveries(n_deliveries: int) -> float:
    """Webhook deliveries over the last 36 months, one per response while responses last; one in
    a thousand failed and one in a thousand pending (what retention must keep)."""
    from django.db import connection

    from bench.reports_data import _bulk_load, _insert_select, _reset_sequence
    from surveys.models import WebhookDelivery

    started = time.monotonic()
    minutes = MONTHS * 30 * 24 * 60
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id), count(*) FROM surveys_surveyresponse")
        low, high, count = cursor.fetchone()
        cursor.execute("SELECT min(id) FROM surveys_webhooksource")
        source = cursor.fetchone()[0]
    # Responses' ids are 1..N when generated; otherwise the deliveries point at none.
    response = f"CASE WHEN j <= {count} THEN {low} + j - 1 END" if count and high - low + 1 == count else "NULL"
    with _bulk_load(WebhookDelivery):
        _insert_select(WebhookDelivery, {
            "id": "j",
            "source_id": str(source),
            "delivery_id": "'msg_' || j",
            "received_at": f"now() - ((j::bigint * 7907) % {minutes}) * interval '1 minute'",
            "content_type": "'application/json'",
            "headers": "'{\"user-agent\": \"Bench\"}'::jsonb",
            "body": ("convert_to('{\"type\": \"response.completed\", \"data\": {\"nps\": ' || j % 11 || "
                     "', \"comment\": \"The courier came late and the parcel was damaged\", \"email\": "
                     "\"c' || j || '@example.com\"}}', 'UTF8')"),
            "status": "CASE WHEN j % 1000 = 1 THEN 'failed' WHEN j % 1000 = 2 THEN 'pending' ELSE 'processed' END",
            "attempts": "1",
            "error": "''",
            "note": "''",
            "processed_at": f"now() - ((j::bigint * 7907) % {minutes}) * interval '1 minute' + interval '1 second'",
            "response_id": response,
        }, f"generate_series(1, {n_deliveries}) AS j")
    _reset_sequence(WebhookDelivery)
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE surveys_webhookdelivery")
    return time.monotonic() - started


def fill_notifications(n_notifications: int, n_cases: int) -> float:
    """The outbox over the last 36 months: a third in-app (a user's notification centre), the rest
    e-mail; one in a thousand still pending."""
    from django.db import connection

    from bench.reports_data import _bulk_load, _insert_select, _reset_sequence
    from cases.models import Notification

    started = time.monotonic()
    minutes = MONTHS * 30 * 24 * 60
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM accounts_user")
        low, high = cursor.fetchone()
    users = high - low + 1
    when = f"now() - ((j::bigint * 7907) % {minutes}) * interval '1 minute'"
    with _bulk_load(Notification):
        _insert_select(Notification, {
            "id": "j",
            "case_id": f"1 + j % {n_cases}",
            "kind": "(ARRAY['new_case','assigned','due_soon','overdue','escalated','mentioned'])[1 + j % 6]",
            "channel": "CASE WHEN j % 3 = 0 THEN 'in_app' ELSE 'email' END",
            "recipient_id": f"{low} + j % {users}",
            "address": f"CASE WHEN j % 3 = 0 THEN 'user:' || ({low} + j % {users}) ELSE 'agent' || j % {users} "
                       "|| '@example.com' END",
            "period": "'v' || j",
            "subject": "''", "body": "''", "context": "'{}'::jsonb", "error": "''",
            "status": "CASE WHEN j % 1000 = 1 THEN 'pending' ELSE 'sent' END",
            "attempts": "1",
            "next_attempt_at": when,
            "created_at": when,
            "sent_at": when,
            "read_at": f"CASE WHEN j % 3 = 0 AND j % 7 <> 0 THEN {when} END",
        }, f"generate_series(1, {n_notifications}) AS j")
    _reset_sequence(Notification)
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE cases_notification")
    return time.monotonic() - started


def fill_outcome_events(n_outcomes: int) -> float:
    """The outcomes bench's events (bench.bench_outcomes.fill_events), on the tables before 0003,
    and their keys in `outcomes_outcomeeventkey` as `outcomes 0002` copied them (the keys apart
    stay applied: an installation reaches 0003 with every event's key there)."""
    import importlib

    from django.db import connection

    from bench.bench_outcomes import fill_events
    from bench.reports_data import _bulk_load
    from outcomes.models import OutcomeEventKey

    if not n_outcomes:
        return 0.0
    seconds = fill_events(n_outcomes)
    started = time.monotonic()
    with _bulk_load(OutcomeEventKey), connection.cursor() as cursor:
        cursor.execute(importlib.import_module("outcomes.migrations.0002_event_keys_apart").COPY_KEYS)
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE outcomes_outcomeeventkey")
    return seconds + time.monotonic() - started


def _answered(r: str) -> str:
    """Response r's answer time, as bench/reports_data.py generates it."""
    return f"(now() - (({r}::bigint * 7919) % 525600) * interval '1 minute')"


def fill_references(n_responses: int, n_cases: int) -> dict:
    """Alerts on one response in ALERT_EVERY (three rules, one per action), case links (each case
    its opening response, one in SECOND_LINK_EVERY a second response too) and recognitions on one
    response in RECOGNITION_EVERY; the responses' ids are 1..N as generated. Returns the rows and
    the seconds."""
    from django.db import connection

    from alerts.models import Alert, AlertRule
    from bench.reports_data import _bulk_load, _insert_select, _reset_sequence
    from cases.models import CaseResponse
    from followup.models import Recognition

    started = time.monotonic()
    rules = [AlertRule.objects.create(name=f"Bench {action}", action=action, threshold=6)
             for action in ("open_case", "notify", "praise")]
    actions = "(ARRAY[" + ",".join(f"'{r.action}'" for r in rules) + "])"
    rule_ids = "(ARRAY[" + ",".join(str(r.pk) for r in rules) + "])"
    n_alerts = n_responses // ALERT_EVERY
    with _bulk_load(Alert):
        _insert_select(Alert, {
            "id": "a",
            "rule_id": f"{rule_ids}[1 + a % 3]",
            "response_id": f"a * {ALERT_EVERY} - 7",
            "action": f"{actions}[1 + a % 3]",
            "reasons": "'[\"NPS 6 or less\"]'::jsonb",
            "email_status": "CASE WHEN a % 3 = 1 THEN 'sent' ELSE '' END",
            "email_recipients": "'[]'::jsonb",
            "email_error": "''",
            "emailed_at": f"CASE WHEN a % 3 = 1 THEN {_answered(f'(a * {ALERT_EVERY} - 7)')} END",
            "created_at": _answered(f"(a * {ALERT_EVERY} - 7)"),
        }, f"generate_series(1, {n_alerts}) AS a")
    _reset_sequence(Alert)
    n_links = n_cases + n_cases // SECOND_LINK_EVERY
    case = f"CASE WHEN j <= {n_cases} THEN j ELSE (j - {n_cases}) * {SECOND_LINK_EVERY} END"
    with _bulk_load(CaseResponse):
        _insert_select(CaseResponse, {
            "id": "j",
            "case_id": case,
            "response_id": f"CASE WHEN j <= {n_cases} THEN 10 * j ELSE 10 * ({case}) - 3 END",
            "attached_at": _answered(f"(10 * ({case}))"),
        }, f"generate_series(1, {n_links}) AS j")
    _reset_sequence(CaseResponse)
    n_recognitions = n_responses // RECOGNITION_EVERY
    with _bulk_load(Recognition):
        _insert_select(Recognition, {
            "id": "g",
            "response_id": f"g * {RECOGNITION_EVERY} - 50",
            "location": "'Store ' || g % 40",
            "quote": "'Thank you to the courier, always on time'",
            "score": "10",
            "created_at": _answered(f"(g * {RECOGNITION_EVERY} - 50)"),
            "recipients": "'[]'::jsonb",
        }, f"generate_series(1, {n_recognitions}) AS g")
    _reset_sequence(Recognition)
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        for table in ("alerts_alert", "cases_caseresponse", "followup_recognition"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {"alerts": n_alerts, "case_links": n_links, "recognitions": n_recognitions,
            "seconds": time.monotonic() - started}
