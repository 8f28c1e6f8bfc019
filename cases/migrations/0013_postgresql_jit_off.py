"""PostgreSQL's JIT compiler off for this database.

PostgreSQL compiles a query to machine code once its estimated cost passes jit_above_cost
(100,000 by default). The report pages' queries pass that at a few million rows and then spend
more time compiling than running: 369 ms of the recovery page's 944 ms query at 10M responses
(docs/benchmarks_reports.md). Closeloop's queries are index scans and small aggregates that
finish in well under a second, where JIT never pays back, so it is switched off for the database
(ALTER DATABASE, which works behind PgBouncer too, unlike a connection option). A role without
the right to alter the database gets a notice, not a failed migration; docs/deployment.md says
how to do it by hand. Nothing to do on SQLite."""

from django.db import migrations

JIT_OFF = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'closeloop: could not switch JIT off for this database (not its owner): run ALTER DATABASE ... SET jit = off as its owner';
END
$$;
SET jit = off;
"""

JIT_DEFAULT = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I RESET jit', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    NULL;
END
$$;
"""


def jit_off(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(JIT_OFF, params=None)


def jit_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(JIT_DEFAULT, params=None)


class Migration(migrations.Migration):
    dependencies = [("cases", "0012_email_template_language")]

    operations = [migrations.RunPython(jit_off, jit_default, elidable=False)]
