"""The statement triggers that join an UPDATE's old rows to its new ones created again with
core.rollup_triggers.pg_run: above 100 rows such a statement is planned again (EXECUTE) instead of
running the plan PL/pgSQL kept from the session's first call, which joined the two sides pair by
pair (an SLA sweep over 10,000 newly overdue cases: a minute in three triggers; now milliseconds).
The score rollup, the score totals, the closure and theme rollups, the coverage flags and the
follow-up marks: their functions are replaced (CREATE OR REPLACE), nothing is recomputed. On
SQLite (row triggers) the same statements are run again and change nothing. The way back keeps
them: the older functions computed the same, only slower."""

from django.db import migrations


def replace_functions(apps, schema_editor):
    from reporting import coverage, followups, score_totals, theme_rollup
    from reporting import rollups as closures
    from surveys import rollups as scores

    with schema_editor.connection.cursor() as cursor:
        # The score rollup's columns as they are here (surveys 0021's; surveys 0024 adds two).
        for statement in scores.trigger_sql(scores.ROLLUP_COUNTS_0021, scores.ROLLUP_READ_COLUMNS_0021):
            cursor.execute(statement)
        # The totals' key and counts here (reporting 0015 adds a key, 0016 two counts).
        for statement in score_totals.trigger_sql(score_totals.KEY_0010, score_totals.COUNTS):
            cursor.execute(statement)
        for module in (closures.ROLLUP, theme_rollup.ROLLUP, coverage, followups):
            for statement in module.trigger_sql():
                cursor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('reporting', '0009_theme_rollup'),
        ('surveys', '0021_score_rollup_comments_and_sentiment'),
        ('cases', '0028_case_response_answered_at'),
    ]

    operations = [
        migrations.RunPython(replace_functions, migrations.RunPython.noop),
    ]
