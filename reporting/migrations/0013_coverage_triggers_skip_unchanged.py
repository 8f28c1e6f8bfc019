"""The coverage flags' triggers (reporting.coverage) write only when a statement can change a
flag: a response inserted with nothing naming it yet, a case updated without touching its response,
an alert that opens no case. Before, each such statement ran an UPDATE of responses that changed
nothing yet fired the eight statement triggers on responses and was planned across its partitions
(3.7 ms of each response's insert). The functions are replaced (CREATE OR REPLACE), nothing is
recomputed; on SQLite (row triggers, which an UPDATE of no rows never fires) the same statements
are run again and change nothing. The way back keeps them: the older functions computed the same."""

from django.db import migrations


def replace_functions(apps, schema_editor):
    from reporting import coverage

    with schema_editor.connection.cursor() as cursor:
        for statement in coverage.trigger_sql():
            cursor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('reporting', '0012_contact_breaches'),
    ]

    operations = [
        migrations.RunPython(replace_functions, migrations.RunPython.noop),
    ]
