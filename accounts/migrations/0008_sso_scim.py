"""Single sign-on and SCIM provisioning (accounts.sso, accounts.scim): the provider's `sub` per
person (SsoIdentity), SCIM's externalId on users and teams, and the scope of an API token (the REST
API, or SCIM provisioning only). Existing tokens keep working on the REST API."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0007_team_mail"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="scim_external_id",
            field=models.CharField(blank=True, db_index=True, max_length=254),
        ),
        migrations.AddField(
            model_name="team",
            name="scim_external_id",
            field=models.CharField(blank=True, db_index=True, max_length=254),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[("api", "REST API"), ("scim", "SCIM provisioning")], default="api",
                help_text="REST API (/api/v1/) or SCIM provisioning (/scim/v2/) only.", max_length=8,
            ),
        ),
        migrations.CreateModel(
            name="SsoIdentity",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("issuer", models.CharField(max_length=255)),
                ("subject", models.CharField(max_length=255)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("last_sign_in_at", models.DateTimeField(blank=True, null=True)),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                           related_name="sso_identities", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "verbose_name": "single sign-on identity",
                "verbose_name_plural": "single sign-on identities",
                "constraints": [
                    models.UniqueConstraint(fields=("issuer", "subject"), name="accounts_ssoidentity_unique_issuer_subject"),
                    models.UniqueConstraint(fields=("user", "issuer"), name="accounts_ssoidentity_unique_user_issuer"),
                ],
            },
        ),
    ]
