"""Each theme tag's copy of its response's answer time made equal to the response's again.

A partial response completed later with another answer time kept its earlier tags at the old time
(surveys.services.recording.response_tags_follow now moves them), so a theme report that bounds
both tables by the period could miss such a tag. Only drifted tags are written; the theme rollup's
triggers (reporting 0009 onwards) move their counts with them."""

from django.db import migrations

POSTGRESQL = """
UPDATE surveys_responsetheme t SET answered_at = r.answered_at
FROM surveys_surveyresponse r
WHERE r.id = t.response_id AND r.answered_at <> t.answered_at
"""

SQLITE = """
UPDATE surveys_responsetheme SET answered_at = (
    SELECT r.answered_at FROM surveys_surveyresponse r WHERE r.id = surveys_responsetheme.response_id)
WHERE EXISTS (SELECT 1 FROM surveys_surveyresponse r
              WHERE r.id = surveys_responsetheme.response_id AND r.answered_at <> surveys_responsetheme.answered_at)
"""


def follow(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(POSTGRESQL if schema_editor.connection.vendor == "postgresql" else SQLITE)


class Migration(migrations.Migration):

    dependencies = [
        ("surveys", "0024_score_rollup_low_scores_and_coverage"),
    ]

    operations = [
        migrations.RunPython(follow, migrations.RunPython.noop),
    ]
