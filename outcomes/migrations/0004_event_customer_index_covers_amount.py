"""The results and impact reports probe each followed customer's events by (customer, occurred_at);
with the kind, amount and currency in the index a probe never visits the table. On PostgreSQL the
events are partitioned by month (0003): the index is made on every partition."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('outcomes', '0003_events_partitioned_by_month'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='outcomeevent',
            name='outcomes_event_customer_time',
        ),
        migrations.AddIndex(
            model_name='outcomeevent',
            index=models.Index(fields=['customer', 'occurred_at'], include=('kind', 'amount', 'currency'), name='outcomes_event_customer_time'),
        ),
    ]
