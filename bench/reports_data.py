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
    _segments()
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
            # A comment on one response in three (sentiment read from it), tagged with themes below.
            "comment": "CASE WHEN i % 3 = 1 THEN 'About the delivery and the staff, response ' || i ELSE '' END",
            "sentiment": "CASE WHEN i % 3 = 1 THEN ((i::bigint * 13) % 201 - 100) / 100.0 END",
            "sentiment_source": "CASE WHEN i % 3 = 1 THEN 'text' ELSE '' END",
            "language": "CASE WHEN i % 3 = 1 THEN 'en' ELSE '' END",
            "touchpoint": f"'Touchpoint ' || ((i / 3) % {TOUCHPOINTS})",
            "channel": "'email'",
            "location": f"'Store ' || ((i / 7) % {LOCATIONS})",
            "region": "'UK'",
            "attributes": "'{}'::jsonb",
            "team_id": team_of,
            "case_linked": "(i % 10 = 0)",  # case k opens response 10k (below); the load bypasses the triggers
            "segment_bits": _bits_of(f"1 + (i::bigint * 104729) % {CUSTOMERS}"),  # the customer's (and so below)
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
            "segment_bits": _bits_of(f"1 + ({r} * 104729) % {CUSTOMERS}"),
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
    # The cases' copies of their responses' keys and answer time (cases.response_keys), which the
    # load's triggers did not write: a join of a case to its response matches on the answer time.
    from cases import response_keys

    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    response_keys.backfill()
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = DEFAULT")
    fill_fields = time.monotonic() - fields_started
    # The load ran with triggers off (session_replication_role = replica), the rollups' too: build
    # them from the rows, as `manage.py rollups --rebuild` does after any bulk load.
    from reporting import last_answers, score_totals
    from reporting import rollups as closures
    from surveys import rollups as scores

    scores.rebuild()
    closures.ROLLUP.rebuild()
    closures.TOTALS.rebuild()
    score_totals.rebuild()
    score_totals.LOCATIONS.rebuild()
    last_answers.rebuild()  # each customer's latest answer, with the bits the load gave the customers
    fill_rollups = time.monotonic() - started - fill_customers - fill_responses - fill_cases - fill_fields
    extras_started = time.monotonic()
    fill_extras(n_responses, teams, users, manager, causes)
    from reporting import contact_breaches, theme_rollup

    theme_rollup.ROLLUP.rebuild()  # the theme tags were loaded with triggers off, as the responses
    theme_rollup.TOTALS.rebuild()
    contact_breaches.rebuild()  # the answers and cases too
    fill_extras_seconds = time.monotonic() - extras_started
    # The past months' rows sit in the partitioned tables' default partitions after the load (the
    # migrations create this month's and the next months' only): the daily maintenance moves them
    # into a partition per month, as on a running installation, so every bench on this data reads
    # the layout production has (an earlier 10M fill measured 9.88M responses in one default
    # partition). On SQLite there is nothing to move. The move runs with triggers off, as the load
    # did: a row moved between partitions keeps its id, key and every figure built from it, while
    # with them on each of 10,000,000 rows fired its delete and insert triggers (an earlier run had
    # moved no month after 10 minutes at load 5).
    from core import partitions

    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    partitions.maintain()
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = DEFAULT")
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
        "extras_seconds": fill_extras_seconds,
        "responses": n_responses,
        "cases": n_cases,
    }



THEMES = 20
SEGMENTS = [
    ("Gold customers", "all", [{"field": "tier", "operator": "equals", "value": "Gold"}]),
    ("Enterprise", "all", [{"field": "segment", "operator": "equals", "value": "Enterprise"}]),
    ("High value", "all", [{"field": "account_value", "operator": "gte", "value": 40000}]),
    ("Premium SMB", "all", [{"field": "tier", "operator": "one_of", "value": ["Gold", "Platinum"]},
                            {"field": "segment", "operator": "equals", "value": "SMB"}]),
]
PLANS = 200
ALERTS = 300


def _segments() -> None:
    """The four SEGMENTS, as a save's tasks leave them (bulk_create bypasses segment_save): each
    segment's member index, and its bit on every customer (reporting.segment_bits), before the
    responses and cases are loaded, which copy their customer's bits (_bits_of: the load runs with
    the triggers that would copy them off)."""
    from reporting.segment_bits import segment_bits_sync
    from segments.indexes import segment_indexes_sync
    from segments.models import Segment

    Segment.objects.bulk_create([
        Segment(name=name, slug=name.lower().replace(" ", "-"), match=match, conditions=conditions)
        for name, match, conditions in SEGMENTS])
    segment_indexes_sync()
    segment_bits_sync()


def _bits_of(customer_id: str) -> str:
    """SQL: the segment bits of the customer whose id `customer_id` (SQL) gives."""
    return f"COALESCE((SELECT c.segment_bits FROM surveys_customer c WHERE c.id = {customer_id}), 0)"


def fill_extras(n_responses: int, teams, users, manager, causes) -> None:
    """What the themes, contact, segments, action-plan and outer-loop pages read: THEMES themes
    tagging every commented response (one in three; one in nine has a second theme; skewed, as
    real themes are), N/5 survey contacts besides the answers (invitations, a tenth recovery
    checks) over the same customers and year, PLANS action plans (one in ten
    organisation-wide; targeting a touchpoint, root causes or themes in turn; a manager's teams
    hold 20 of them) with 20 linked cases and 3 notes each, and ALERTS outer-loop alerts."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from cases.models import Case
    from contactpolicy.models import ContactEvent
    from improvement.models import ActionPlan, ActionPlanNote, OuterLoopAlert
    from surveys.models import ResponseTheme, Theme

    themes = Theme.objects.bulk_create([
        Theme(name=f"Theme {t:02d}", slug=f"theme-{t:02d}", keywords=[f"word{t}"]) for t in range(THEMES)])
    themes_sql = _array(themes)
    first = f"{themes_sql}[1 + floor({THEMES} * power(((r.id * 7) % 1000) / 1000.0, 2))::int]"
    second = f"{themes_sql}[1 + (floor({THEMES} * power(((r.id * 7) % 1000) / 1000.0, 2))::int + 7) % {THEMES}]"
    with _bulk_load(ResponseTheme), connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO surveys_responsetheme (response_id, theme_id, matches, answered_at)
                SELECT r.id, {first}, '[]'::jsonb, r.answered_at FROM surveys_surveyresponse r WHERE r.id % 3 = 1
                UNION ALL
                SELECT r.id, {second}, '[]'::jsonb, r.answered_at FROM surveys_surveyresponse r WHERE r.id % 9 = 1""")
    n_events = n_responses // 5
    with _bulk_load(ContactEvent):
        _insert_select(ContactEvent, {
            "id": "j",
            "customer_id": f"1 + (j::bigint * 15485863) % {CUSTOMERS}",
            "kind": "CASE WHEN j % 10 = 0 THEN 'recovery_check' ELSE 'invitation' END",
            "channel": "'email'",
            "sender": "'bench'",
            "external_id": "'inv' || j",
            "at": "now() - ((j::bigint * 7907) % 525600) * interval '1 minute'",
            "in_breach": "false",
            "breach_reasons": "'[]'::jsonb",
            "created_at": "now()",
        }, f"generate_series(1, {n_events}) AS j")
    _reset_sequence(ContactEvent)
    today = timezone.localdate()
    statuses = ["planned", "in_progress", "in_progress", "done", "abandoned"]
    plans = []
    for p in range(PLANS):
        team = None if p % 10 == 9 else teams[p % len(teams)]
        owner = manager if team is not None and p % len(teams) < MANAGED_TEAMS else users[(p % len(teams)) * AGENTS_PER_TEAM]
        status = statuses[p % len(statuses)]
        plans.append(ActionPlan(
            title=f"Plan {p}", description="Change what customers complain about.", owner=owner, team=team,
            status=status, due_date=today + dt.timedelta(days=30 - p % 90),
            change_date=today - dt.timedelta(days=p % 120) if p % 2 == 0 else None,
            touchpoints=[f"Touchpoint {p % TOUCHPOINTS}"] if p % 3 == 0 else [], created_by=owner,
            done_at=timezone.now() if status == "done" else None))
    plans = ActionPlan.objects.bulk_create(plans)
    causes_through, themes_through, cases_through, notes = [], [], [], []
    for p, plan in enumerate(plans):
        if p % 3 == 1:
            causes_through += [ActionPlan.root_causes.through(actionplan_id=plan.pk, rootcause_id=causes[(p + k) % len(causes)].pk)
                               for k in range(2)]
        if p % 3 == 2:
            themes_through += [ActionPlan.themes.through(actionplan_id=plan.pk, theme_id=themes[(p + k) % len(themes)].pk)
                               for k in range(2)]
        team_cases = Case.objects.filter(team_id=(plan.team_id or teams[0].pk)).order_by("-id").values_list("pk", flat=True)
        cases_through += [ActionPlan.cases.through(actionplan_id=plan.pk, case_id=c)
                          for c in team_cases[p * 20:(p + 1) * 20]]
        notes += [ActionPlanNote(plan=plan, author=plan.owner, text=f"Progress note {k}") for k in range(3)]
    ActionPlan.root_causes.through.objects.bulk_create(causes_through)
    ActionPlan.themes.through.objects.bulk_create(themes_through)
    ActionPlan.cases.through.objects.bulk_create(cases_through)
    ActionPlanNote.objects.bulk_create(notes)
    monday = today - dt.timedelta(days=today.weekday())
    alerts = []
    for a in range(ALERTS):
        kind = ["root_cause", "theme", "touchpoint"][a % 3]
        key = (str(causes[a % len(causes)].pk) if kind == "root_cause" else
               str(themes[a % len(themes)].pk) if kind == "theme" else f"Touchpoint {a % TOUCHPOINTS}")
        metric = "detractor_share" if kind == "touchpoint" else "volume"
        opened = monday - dt.timedelta(weeks=1 + a % 52)
        last = opened + dt.timedelta(weeks=a % 3)
        ongoing = a < 20 and a % 3 == 0 or a in (1, 2, 4, 5, 7)
        alerts.append(OuterLoopAlert(
            kind=kind, key=f"{key}" if ongoing else f"{key}#{a}", label=f"Signal {a}", metric=metric,
            opened_week=opened, last_week=last, closed_week=None if ongoing else last + dt.timedelta(weeks=1),
            evidence={"week": last.isoformat(), "value": 0.4 if metric == "detractor_share" else 40, "n": 120,
                      "centre": 0.25 if metric == "detractor_share" else 20, "upper": 0.35 if metric ==
                      "detractor_share" else 33, "series": [], "method": metric},
            owner=manager if a % 4 == 0 else None))
    OuterLoopAlert.objects.bulk_create(alerts)
