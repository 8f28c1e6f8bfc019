"""The per-role two-factor policy (accounts.two_factor.models.TwoFactorPolicy): one row, nobody
required until a CX admin says so. The devices are django-otp's own tables (otp_totp, otp_static)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0005_language_and_time_zone"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="TwoFactorPolicy",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("agents_required", models.BooleanField(default=False, verbose_name="Frontline agents")),
                ("managers_required", models.BooleanField(default=False, verbose_name="Managers")),
                ("admins_required", models.BooleanField(default=False, verbose_name="CX admins")),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("updated_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                                 related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "verbose_name": "two-factor policy",
                "verbose_name_plural": "two-factor policy",
                "constraints": [models.CheckConstraint(condition=models.Q(("id", 1)),
                                                       name="accounts_twofactorpolicy_single_row")],
            },
        ),
    ]
