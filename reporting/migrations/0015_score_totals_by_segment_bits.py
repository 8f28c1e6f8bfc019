"""The every-team score totals keyed by the responses' segment bits too (reporting.segment_bits): an
admin's scores by segment, or narrowed to one, sum the totals of the bit patterns that hold the
segment's bit instead of reading every team's responses of the period (docs/reporting.md). The
triggers are recreated and the totals rebuilt from the responses (one grouped pass, writes to
responses waiting meanwhile: a minute or two at 10,000,000 responses). A few times more rows: one
per bit pattern the day's customers have."""

from django.db import migrations, models

INCLUDE = ["survey_id", "source_id", "touchpoint", "responses", "nps_n", "promoters", "passives", "detractors", "csat_n",
           "csat_top2", "ces_n", "ces_ease_n", "ces_ease_sum", "ces_high_effort", "index_n", "index_sum"]


def rebuild(apps, schema_editor):
    from reporting import score_totals

    score_totals.rebuild(score_totals.KEY, score_totals.COUNTS)  # the counts here (0016 adds two)


def rebuild_without_bits(apps, schema_editor):
    from reporting import score_totals

    score_totals.rebuild(score_totals.KEY_0010, score_totals.COUNTS)


class Migration(migrations.Migration):

    dependencies = [("reporting", "0014_segment_bits")]

    operations = [
        migrations.RemoveIndex(model_name="scoretotal", name="reporting_scoretotal_day"),
        migrations.AddField(model_name="scoretotal", name="segment_bits", field=models.BigIntegerField(default=0, db_default=0)),
        migrations.AddIndex(
            model_name="scoretotal",
            index=models.Index(fields=["day"], include=[*INCLUDE[:3], "segment_bits", *INCLUDE[3:]],
                               name="reporting_scoretotal_day"),
        ),
        migrations.RunPython(rebuild, rebuild_without_bits, elidable=False),
    ]
