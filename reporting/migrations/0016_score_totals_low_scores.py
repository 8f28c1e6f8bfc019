"""The every-team score totals count the KPI page's low scores and those a case covers too (as the
score rollup does since surveys 0024): an admin's KPIs by segment sum them from the totals of each
segment's bit patterns instead of reading every team's answers of the period (docs/reporting.md).
The triggers are recreated and the totals rebuilt from the responses (half a minute at 10,000,000
responses, writes to responses waiting meanwhile)."""

from django.db import migrations, models

INCLUDE = ["survey_id", "source_id", "touchpoint", "segment_bits", "responses", "nps_n", "promoters", "passives",
           "detractors", "csat_n", "csat_top2", "ces_n", "ces_ease_n", "ces_ease_sum", "ces_high_effort", "index_n",
           "index_sum"]


def rebuild(apps, schema_editor):
    from reporting import score_totals

    score_totals.rebuild(score_totals.KEY, score_totals.TOTALS)  # the counts here (0020 adds one)


def rebuild_without_low_scores(apps, schema_editor):
    from reporting import score_totals

    score_totals.rebuild(score_totals.KEY, score_totals.COUNTS)


class Migration(migrations.Migration):

    dependencies = [("reporting", "0015_score_totals_by_segment_bits")]

    operations = [
        migrations.RemoveIndex(model_name="scoretotal", name="reporting_scoretotal_day"),
        migrations.AddField(model_name="scoretotal", name="low", field=models.BigIntegerField(db_default=0, default=0)),
        migrations.AddField(model_name="scoretotal", name="low_covered",
                            field=models.BigIntegerField(db_default=0, default=0)),
        migrations.AddIndex(
            model_name="scoretotal",
            index=models.Index(fields=["day"], include=[*INCLUDE, "low", "low_covered"], name="reporting_scoretotal_day"),
        ),
        migrations.RunPython(rebuild, rebuild_without_low_scores, elidable=False),
    ]
