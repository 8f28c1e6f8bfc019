"""Exactly one default team: keep the oldest flagged team (or flag the oldest team when none is),
then let the database refuse a second one. Routing already treated the oldest flagged team as the
default, so no case changes owner."""

from django.db import migrations, models


def keep_one_default(apps, schema_editor):
    Team = apps.get_model("accounts", "Team")
    flagged = list(Team.objects.filter(is_default=True).order_by("id").values_list("id", flat=True))
    if flagged:
        Team.objects.filter(id__in=flagged[1:]).update(is_default=False)
    else:
        oldest = Team.objects.order_by("id").values_list("id", flat=True).first()
        if oldest is not None:
            Team.objects.filter(id=oldest).update(is_default=True)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_first_attempt_policy'),
    ]

    operations = [
        migrations.RunPython(keep_one_default, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='team',
            constraint=models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('is_default',), name='accounts_team_one_default', violation_error_message='Another team is already the default: make this team the default from its settings page, which moves the flag.'),
        ),
        migrations.AlterConstraint(
            model_name='closedday',
            name='accounts_closedday_unique_team_date',
            constraint=models.UniqueConstraint(fields=('team', 'date'), name='accounts_closedday_unique_team_date', violation_error_message='The team is already closed that day.'),
        ),
        migrations.AlterConstraint(
            model_name='slapolicy',
            name='accounts_slapolicy_positive_targets',
            constraint=models.CheckConstraint(condition=models.Q(('first_contact_hours__gt', 0), ('resolution_hours__gt', 0)), name='accounts_slapolicy_positive_targets', violation_error_message='Targets are a positive number of business hours, e.g. 4.'),
        ),
        migrations.AlterConstraint(
            model_name='slapolicy',
            name='accounts_slapolicy_resolution_after_first_contact',
            constraint=models.CheckConstraint(condition=models.Q(('resolution_hours__gte', models.F('first_contact_hours'))), name='accounts_slapolicy_resolution_after_first_contact', violation_error_message='Resolution cannot be due before first contact.'),
        ),
    ]
