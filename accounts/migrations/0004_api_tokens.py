"""API tokens stored hashed (accounts.ApiToken), replacing DRF's authtoken table, whose keys were
plain text. Each existing authtoken key is moved here hashed, with its first 8 characters as the
prefix and no expiry, so integrations keep working; then the plain-text table is dropped."""

import hashlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

LEGACY_TABLE = "authtoken_token"


def move_authtoken_keys(apps, schema_editor):
    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("accounts", "ApiToken")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {LEGACY_TABLE}")
        rows = cursor.fetchall()
    for key, user_id, created in rows:
        token = ApiToken.objects.create(user_id=user_id, name="Token from before named tokens", prefix=key[:8],
                                        digest=hashlib.sha256(key.encode()).hexdigest())
        ApiToken.objects.filter(pk=token.pk).update(created_at=created)
    schema_editor.execute(f"DROP TABLE {LEGACY_TABLE}")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_one_default_team'),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100)),
                ('prefix', models.CharField(help_text="The key's start: cl_ and its lookup id.", max_length=11, unique=True)),
                ('digest', models.CharField(help_text='SHA-256 of the whole key, hex.', max_length=64)),
                ('read_only', models.BooleanField(default=False, help_text='GET, HEAD and OPTIONS only.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('expires_at', models.DateTimeField(blank=True, help_text='Empty: never expires.', null=True)),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'API token',
                'ordering': ['user_id', '-created_at'],
            },
        ),
        migrations.RunPython(move_authtoken_keys, migrations.RunPython.noop),
    ]
