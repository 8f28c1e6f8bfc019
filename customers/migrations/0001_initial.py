import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("surveys", "0009_customer_consent_and_merge"),
    ]

    operations = [
        migrations.CreateModel(
            name="Account",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200)),
                ("external_id", models.CharField(blank=True, max_length=255, null=True, unique=True)),
                ("value", models.DecimalField(blank=True, decimal_places=2, help_text="Yearly value of the account.",
                                              max_digits=14, null=True)),
                ("renewal_date", models.DateField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("owner", models.ForeignKey(blank=True, help_text="The key-account manager.", null=True,
                                            on_delete=django.db.models.deletion.SET_NULL, related_name="owned_accounts",
                                            to=settings.AUTH_USER_MODEL)),
                ("parent", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                             related_name="children", to="customers.account")),
            ],
            options={"ordering": ["name", "id"]},
        ),
        migrations.CreateModel(
            name="Contact",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("role", models.CharField(choices=[("decision_maker", "Decision maker"), ("influencer", "Influencer"),
                                                   ("user", "User"), ("other", "Other")], default="user", max_length=20)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("account", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                              related_name="contacts", to="customers.account")),
                ("customer", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                               related_name="account_contacts", to="surveys.customer")),
            ],
            options={
                "ordering": ["account", "role", "id"],
                "constraints": [models.UniqueConstraint(fields=("account", "customer"),
                                                        name="customers_contact_unique_account_customer")],
            },
        ),
        migrations.CreateModel(
            name="ConsentChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("channel", models.CharField(max_length=12)),
                ("from_value", models.CharField(blank=True, max_length=12)),
                ("to_value", models.CharField(blank=True, max_length=12)),
                ("via", models.CharField(blank=True, help_text="How the customer told us (call, letter, ...).",
                                         max_length=120)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                         related_name="+", to=settings.AUTH_USER_MODEL)),
                ("customer", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                               related_name="consent_changes", to="surveys.customer")),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["customer", "-created_at"], name="customers_consent_customer")],
            },
        ),
        migrations.CreateModel(
            name="CustomerMerge",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reason", models.TextField(blank=True)),
                ("moved", models.JSONField(blank=True, default=dict,
                                           help_text="Ids moved, per kind, and the target's values before.")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("undone_at", models.DateTimeField(blank=True, null=True)),
                ("by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                         related_name="+", to=settings.AUTH_USER_MODEL)),
                ("merged", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="merges_out",
                                             to="surveys.customer")),
                ("target", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="merges_in",
                                             to="surveys.customer")),
                ("undone_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                                related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["merged", "-created_at"], name="customers_merge_merged")],
            },
        ),
        migrations.CreateModel(
            name="Identity",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("external_id", "External id"), ("email", "E-mail"),
                                                   ("phone", "Phone")], max_length=12)),
                ("value", models.CharField(max_length=255)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("customer", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="identities",
                                               to="surveys.customer")),
                ("source", models.ForeignKey(blank=True,
                                             help_text="The source an external id belongs to (empty for e-mails and phones).",
                                             null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                             to="surveys.webhooksource")),
            ],
            options={
                "verbose_name_plural": "identities",
                "ordering": ["kind", "value"],
                "indexes": [models.Index(fields=["kind", "value"], name="customers_identity_kind_value")],
                "constraints": [
                    models.UniqueConstraint(condition=models.Q(("source__isnull", False)),
                                            fields=("customer", "kind", "source", "value"),
                                            name="customers_identity_unique_sourced"),
                    models.UniqueConstraint(condition=models.Q(("source__isnull", True)),
                                            fields=("customer", "kind", "value"),
                                            name="customers_identity_unique_unsourced"),
                ],
            },
        ),
    ]
