"""The triggers that keep the responses' case flags (surveys migration 0016), then the flags of the
responses recorded before them: reporting.coverage.rebuild (also run by `manage.py rollups
--rebuild`), in batches of 5,000 alerts, cases and case links, each its own transaction (the
migration is therefore not atomic). Only the responses that have a case or an open-case alert are
written: about one in ten in the reporting bench's data."""

from django.db import migrations


def rebuild(apps, schema_editor):
    from reporting import coverage

    coverage.rebuild()


def drop_triggers(apps, schema_editor):
    from reporting import coverage

    with schema_editor.connection.cursor() as cursor:
        for statement in coverage.drop_trigger_sql():
            cursor.execute(statement)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("reporting", "0004_answered_again_index"),
        ("surveys", "0017_response_case_flags"),
        ("alerts", "0007_reasons_as_codes"),
        ("cases", "0022_case_events_partitioned_by_month"),
    ]

    operations = [migrations.RunPython(rebuild, drop_triggers)]
