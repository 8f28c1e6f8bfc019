"""The moments customers were asked more often than the contact policy allows, stored
(reporting.ContactPeak, kept with the answers' breaches by reporting.contact_breaches): the
Contact report's over-contacted list reads the customers with one in its period instead of summing
every contact of the period per customer. The triggers now also mark the customers whose recorded
contacts change; the breaches and the peaks are rebuilt under the current policy, 50,000 customers
per transaction (the migration is therefore not atomic; the triggers mark what changes meanwhile;
minutes at 10,000,000 answers: docs/deployment.md)."""

from django.db import migrations, models


def rebuild(apps, schema_editor):
    from reporting import contact_breaches

    contact_breaches.rebuild()


def drop_triggers(apps, schema_editor):
    from reporting import contact_breaches

    with schema_editor.connection.cursor() as cursor:
        for statement in contact_breaches.drop_trigger_sql():
            cursor.execute(statement)
        for statement in contact_breaches.trigger_sql(contact_breaches.WATCHED_0012):
            cursor.execute(statement)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('reporting', '0022_last_answer_days'),
        ('contactpolicy', '0002_contact_event_at_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='ContactPeak',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('customer_id', models.BigIntegerField()),
                ('at', models.DateTimeField()),
            ],
            options={
                'indexes': [models.Index(fields=['at'], include=('customer_id',), name='reporting_contactpeak_at'),
                            models.Index(fields=['customer_id'], name='reporting_contactpeak_cust')],
            },
        ),
        migrations.RunPython(rebuild, drop_triggers, elidable=False),
    ]
