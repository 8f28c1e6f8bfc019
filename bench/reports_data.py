"""The reporting bench's data: 50 teams, 1,000,000 customers, N responses and N/10 cases generated
in the bench database with SQL generate_series, secondary indexes dropped during the load and
rebuilt after (what a bulk load does). Runs in bench.bench_reports' child process."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager

TEAMS = 50
MANAGED_TEAMS = 5
AGENTS_PER_TEAM = 5
CUSTOMERS = 1_000_000
CAUSES = 30
TOUCHPOINTS = 12
LOCATIONS = 40
def _literal_default(field):
    from django.db import models

    value = field.get_default()
    return json.dumps(value) if isinstance(field, models.JSONField) else value


def _insert_select(model, known: dict[str, str], series: str) -> None:
    """INSERT INTO <table> (every concrete column) SELECT <expressions over i> FROM <series>;
    columns not in `known` (fields other areas may add) get NULL or their default."""
    from django.db import connection

    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        columns.append(f'"{field.column}"')
        if field.column in known:
            expressions.append(known[field.column].replace("%", "%%"))  # literal SQL, not placeholders
        elif field.null:
            expressions.append("NULL")
        else:
            expressions.append("%s")
            params.append(_literal_default(field))
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{model._meta.db_table}" ({", ".join(columns)}) SELECT {", ".join(expressions)} FROM {series}',
            params,
        )


def _reset_sequence(model) -> None:
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT COALESCE(MAX(id), 1) FROM \"{table}\"))"
        )


@contextmanager
def _bulk_load(model):
    """Drop the table's secondary indexes and unique constraints, load, rebuild them; foreign-key
    triggers are off during the load (the generated ids are consistent by construction)."""
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
               WHERE c.conrelid = %s::regclass AND c.contype = 'u'""",
            [table],
        )
        constraints = cursor.fetchall()
        for name, _ in constraints:
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        cursor.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
               WHERE i.tablename = %s AND i.indexname NOT IN (
                   SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p')""",
            [table, table],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("SET maintenance_work_mem = '1GB'")
            cursor.execute("SET max_parallel_maintenance_workers = 2")
            for _, definition in indexes:
                # A partitioned table's indexes read back as "ON ONLY <parent>", which would build
                # an invalid parent index and none on the partitions: build them on every partition.
                cursor.execute(definition.replace(" ON ONLY ", " ON "))
            for name, definition in constraints:
                cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')


def _fill_response_keys() -> None:
    """The responses' key table (core.partition_refs) after a load with triggers off, on a
    partitioned responses table: the foreign keys into responses point at it."""
    import importlib

    from django.db import connection

    from core import partition_refs, partitions

    keys = importlib.import_module("surveys.migrations.0020_responses_partitioned_by_month").KEYS
    with connection.cursor() as cursor:
        if partitions.is_partitioned(cursor, keys.table):
            partition_refs.fill(cursor, keys)


def _array(objs) -> str:
    return "(ARRAY[" + ",".join(str(o.pk) for o in objs) + "])"


def report_fields() -> None:
    """What the case services store per case when it happens (docs/reporting.md "Stored per case"),
    set here in one UPDATE since the load bypasses them: the durations to first contact and to
    closure (wall-clock seconds: this generator's calendars are always open, which changes the
    figures, not the work of reading them) and each closed case's customer's first NPS answer
    after the closure (through the index of a customer's answers). Triggers are off, as during the
    load: the rollups are rebuilt afterwards."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            """UPDATE cases_case c SET
                   first_contact_business_seconds = EXTRACT(EPOCH FROM c.first_contacted_at - c.created_at),
                   close_business_seconds = EXTRACT(EPOCH FROM c.closed_at - c.created_at),
                   answered_again_id = a.id, answered_again_at = a.answered_at, answered_again_nps = a.nps
               FROM cases_case k LEFT JOIN LATERAL (
                   SELECT r.id, r.answered_at, r.nps FROM surveys_surveyresponse r
                   WHERE r.customer_id = k.customer_id AND r.answered_at > k.closed_at AND r.nps IS NOT NULL
                     AND k.status = 'closed'
                   ORDER BY r.answered_at, r.id LIMIT 1
               ) a ON true
               WHERE c.id = k.id"""
        )
        cursor.execute("SET session_replication_role = DEFAULT")


def fill(n_responses: int) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from accounts.models import Membership, Role, Team, User
    from cases.models import Case, RootCause, RootCauseCategory
    from surveys.models import Customer, Survey, SurveyResponse, Vendor, WebhookSource

    started = time.monotonic()
    n_cases = n_responses // 10
    teams = Team.objects.bulk_create(
        [Team(name=f"Team {t:02d}", slug=f"team-{t:02d}", is_default=(t == 1)) for t in range(1, TEAMS + 1)]
    )
    password = make_password("bench-password")
    users = User.objects.bulk_create(
        [
            User(username=f"agent{t:02d}{a}", first_name=f"Agent {a}", last_name=f"T{t:02d}", password=password,
                 role=Role.AGENT, email=f"agent{t:02d}{a}@example.com")
            for t in range(1, TEAMS + 1)
            for a in range(AGENTS_PER_TEAM)
        ]
    )
    Membership.objects.bulk_create(
        [Membership(user=users[t * AGENTS_PER_TEAM + a], team=teams[t]) for t in range(TEAMS) for a in range(AGENTS_PER_TEAM)]
    )
    manager = User.objects.create_user("bench_manager", password="bench-password", role=Role.MANAGER)
    Membership.objects.bulk_create([Membership(user=manager, team=teams[t], is_manager=True) for t in range(MANAGED_TEAMS)])
    source = WebhookSource.objects.create(name="Bench", slug="bench", vendor=Vendor.STANDARD)
    surveys = Survey.objects.bulk_create([Survey(source=source, external_id=f"s{s}", name=f"Survey {s}") for s in range(10)])
    causes = []
    for c, category_name in enumerate(["Product", "Delivery", "Staff", "Billing", "Policy", "Store"]):
        category = RootCauseCategory.objects.create(name=f"Bench {category_name}", order=c)
        causes += RootCause.objects.bulk_create([RootCause(category=category, name=f"{category_name} {k}") for k in range(5)])

    teams_sql, users_sql, surveys_sql, causes_sql = _array(teams), _array(users), _array(surveys), _array(causes)
    with _bulk_load(Customer):
        _insert_select(Customer, {
            "id": "i",
            "external_id": "'c' || i",
            "email": "'customer' || i || '@example.com'",
            "name": "'Customer ' || i",
            "tier": "(ARRAY['Bronze','Silver','Gold','Platinum'])[1 + i % 4]",
            "segment": "(ARRAY['Retail','SMB','Enterprise'])[1 + i % 3]",
            "account_value": "(i % 50000)::numeric",
            "attributes": "'{}'::jsonb",
            "contact_opt_out": "false",
            "created_at": "now()",
            "updated_at": "now()",
        }, f"generate_series(1, {CUSTOMERS}) AS i")
    _reset_sequence(Customer)
    fill_customers = time.monotonic() - started

    # Response i: minute offset into the last 365 days, team by blocks of ten responses.
    minutes = "((i::bigint * 7919) % 525600)"
    answered = f"(now() - {minutes} * interval '1 minute')"
    team_of = f"{teams_sql}[1 + (i / 10) % {TEAMS}]"
    with _bulk_load(SurveyResponse):
        _insert_select(SurveyResponse, {
            "id": "i",
            "source_id": str(source.pk),
            "survey_id": f"{surveys_sql}[1 + (i / 3) % 10]",
            "customer_id": f"1 + (i::bigint * 104729) % {CUSTOMERS}",
            "external_id": "'r' || i",
            "answered_at": answered,
            "received_at": answered,
            "nps": "((i::bigint * 37 + i / 11) % 11)::smallint",
            "csat": "CASE WHEN i % 3 = 0 THEN 1 + (i / 3) % 5 END",
            "csat_scale_min": "CASE WHEN i % 3 = 0 THEN 1 END",
            "csat_scale_max": "CASE WHEN i % 3 = 0 THEN 5 END",
            "ces": "CASE WHEN i % 4 = 0 THEN 1 + (i / 4) % 7 END",
            "ces_scale_min": "CASE WHEN i % 4 = 0 THEN 1 END",
            "ces_scale_max": "CASE WHEN i % 4 = 0 THEN 7 END",
            "ces_high_is_easy": "CASE WHEN i % 4 = 0 THEN true END",
            "scores": "'{}'::jsonb",
            "comment": "''",
            "touchpoint": f"'Touchpoint ' || ((i / 3) % {TOUCHPOINTS})",
            "channel": "'email'",
            "location": f"'Store ' || ((i / 7) % {LOCATIONS})",
            "region": "'UK'",
            "attributes": "'{}'::jsonb",
            "team_id": team_of,
            "case_linked": "(i % 10 = 0)",  # case k opens response 10k (below); the load bypasses the triggers
        }, f"generate_series(1, {n_responses}) AS i")
    _reset_sequence(SurveyResponse)
    _fill_response_keys()
    fill_responses = time.monotonic() - started - fill_customers

    # Case k opens response 10k: same team, customer and time (+30 min). Open: the last 14 days
    # and every 53rd older one; contacted two times in three; escalation levels 0-2 spread.
    r = "(k::bigint * 10)"
    minutes_r = f"(({r} * 7919) % 525600)"
    created = f"(now() - {minutes_r} * interval '1 minute' + interval '30 minutes')"
    is_open = f"({minutes_r} < 14 * 1440 OR k % 53 = 0)"  # 53: stuck cases spread over every team
    contacted = f"(k % 3 <> 0 AND {created} + interval '2 hours' < now())"
    agent_of = f"{users_sql}[1 + ((k) % {TEAMS}) * {AGENTS_PER_TEAM} + (k / {TEAMS}) % {AGENTS_PER_TEAM}]"
    cause_of = f"{causes_sql}[1 + floor({CAUSES} * power(((k * 7) % 1000) / 1000.0, 2))::int]"
    with _bulk_load(Case):
        _insert_select(Case, {
            "id": "k",
            "reference": "'CL-' || lpad(k::text, 7, '0')",
            "customer_id": f"1 + ({r} * 104729) % {CUSTOMERS}",
            "response_id": r,
            "team_id": f"{teams_sql}[1 + k % {TEAMS}]",
            "assignee_id": f"CASE WHEN {is_open} AND k % 4 = 0 THEN NULL ELSE {agent_of} END",
            "priority": "(ARRAY['low','normal','normal','high','urgent'])[1 + (k / 3) % 5]",
            "status": f"CASE WHEN NOT {is_open} THEN 'closed' WHEN {contacted} THEN 'in_progress' ELSE 'new' END",
            "version": "3",
            "first_contact_due": f"{created} + interval '4 hours'",
            "resolution_due": f"{created} + interval '48 hours'",
            "first_contacted_at": f"CASE WHEN NOT {is_open} THEN {created} + (k % 10) * interval '1 hour' "
                                  f"WHEN {contacted} THEN {created} + interval '2 hours' END",
            "overdue_at": f"CASE WHEN {is_open} AND {created} + interval '4 hours' < now() THEN {created} + interval '4 hours' END",
            "escalation_level": f"CASE WHEN {is_open} AND {created} + interval '4 hours' < now() THEN k % 3 ELSE 0 END",
            "value_at_risk": "(k % 5000)::numeric",
            "root_cause_id": f"CASE WHEN {is_open} THEN NULL ELSE {cause_of} END",
            "resolution": f"CASE WHEN {is_open} THEN '' ELSE 'Called the customer, apologised and fixed it.' END",
            "outcome": f"CASE WHEN {is_open} THEN '' ELSE 'resolved' END",
            "prevention": f"CASE WHEN NOT {is_open} AND k % 10 = 0 THEN 'Suggestion ' || k ELSE '' END",
            "closed_at": f"CASE WHEN {is_open} THEN NULL ELSE {created} + (4 + k % 100) * interval '1 hour' END",
            "reopen_count": "CASE WHEN k % 40 = 0 THEN 1 ELSE 0 END",
            "created_at": created,
            "updated_at": "now()",
        }, f"generate_series(1, {n_cases}) AS k")
    _reset_sequence(Case)
    fill_cases = time.monotonic() - started - fill_customers - fill_responses
    fields_started = time.monotonic()
    report_fields()
    fill_fields = time.monotonic() - fields_started
    # The load ran with triggers off (session_replication_role = replica), the rollups' too: build
    # them from the rows, as `manage.py rollups --rebuild` does after any bulk load.
    from reporting import rollups as closures
    from reporting import score_totals
    from surveys import rollups as scores

    scores.rebuild()
    closures.rebuild()
    score_totals.rebuild()
    fill_rollups = time.monotonic() - started - fill_customers - fill_responses - fill_cases - fill_fields
    connection.ensure_connection()
    old_autocommit = connection.get_autocommit()
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.set_autocommit(old_autocommit)
    return {
        "seconds": time.monotonic() - started,
        "customers_seconds": fill_customers,
        "responses_seconds": fill_responses,
        "cases_seconds": fill_cases,
        "fields_seconds": fill_fields,
        "rollups_seconds": fill_rollups,
        "responses": n_responses,
        "cases": n_cases,
    }

