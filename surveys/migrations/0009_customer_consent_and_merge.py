"""Contact consent per channel and the merge pointer on Customer (docs/customers.md)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("surveys", "0008_scores_index_includes_touchpoint")]

    operations = [
        migrations.AddField(
            model_name="customer", name="contact_consent", field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="customer", name="merged_into",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="merged_customers", to="surveys.customer"),
        ),
    ]
