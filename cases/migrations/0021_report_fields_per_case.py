"""What reporting reads per case, stored on the case (cases.services.report_fields): business
seconds to the first contact and to the closure, and the customer's first NPS answer after the
closure; then computed for the cases that exist (cases.services.report_fields, in batches of 5,000:
1,000,000 cases took 1,000 s on a shared 2-core machine at load 11-16, 109 s of it Python; on a big
installation, expect this migration to take a while)."""

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):
    from cases.services.report_fields import cases_fill_report_fields

    cases_fill_report_fields(
        case_model=apps.get_model("cases", "Case"),
        team_model=apps.get_model("accounts", "Team"),
        response_model=apps.get_model("surveys", "SurveyResponse"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0020_case_customer_churn_risk"),
        ("surveys", "0011_webhooksource_vendor_stripe"),
        ("accounts", "0008_sso_scim"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="answered_again",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="surveys.surveyresponse",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="answered_again_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="case",
            name="answered_again_nps",
            field=models.SmallIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="case",
            name="close_business_seconds",
            field=models.FloatField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="case",
            name="first_contact_business_seconds",
            field=models.FloatField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
