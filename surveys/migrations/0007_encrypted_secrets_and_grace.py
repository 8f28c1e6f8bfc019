"""Webhook secrets and vendor credentials (auth) encrypted at rest (core.crypto, the key from
CLOSELOOP_ENCRYPTION_KEYS), and a grace period for a rotated secret: a previous secret stored
before this migration is accepted for 24 more hours, then refused.

The values are rewritten with plain SQL: the model's fields would try to decrypt them."""

import json
from datetime import timedelta

from django.db import migrations, models
from django.utils import timezone

import core.crypto
import surveys.models

COLUMNS = ("secret", "previous_secret", "auth")


def _rewrite(schema_editor, change):
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {', '.join(quote(c) for c in COLUMNS)} FROM surveys_webhooksource")
        rows = cursor.fetchall()
        for pk, *values in rows:
            new = [change(column, value) for column, value in zip(COLUMNS, values)]
            cursor.execute(f"UPDATE surveys_webhooksource SET {', '.join(quote(c) + ' = %s' for c in COLUMNS)} "
                           "WHERE id = %s", [*new, pk])


def encrypt_secrets(apps, schema_editor):
    def encrypt(column, value):
        if value in (None, "") or core.crypto.is_encrypted(value):
            return value
        if column == "auth":  # jsonb as text (PostgreSQL) or JSON text (SQLite)
            value = json.dumps(json.loads(value) if isinstance(value, str) else value, sort_keys=True)
        return core.crypto.encrypt(value)

    _rewrite(schema_editor, encrypt)
    WebhookSource = apps.get_model("surveys", "WebhookSource")
    WebhookSource.objects.exclude(previous_secret="").update(previous_secret_expires_at=timezone.now() + timedelta(hours=24))


def decrypt_secrets(apps, schema_editor):
    _rewrite(schema_editor, lambda column, value: core.crypto.decrypt(value) if value else value)


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0006_refused_deliveries'),
    ]

    operations = [
        migrations.AddField(
            model_name='webhooksource',
            name='previous_secret_expires_at',
            field=models.DateTimeField(blank=True, help_text='The previous secret is refused from this time on.', null=True),
        ),
        migrations.AddField(
            model_name='webhooksource',
            name='secret_grace_hours',
            field=models.PositiveIntegerField(default=24, help_text='After the secret is changed, how many hours the previous one is still accepted (time to update the survey tool; 0: refused at once).'),
        ),
        migrations.AlterField(
            model_name='webhooksource',
            name='auth',
            field=core.crypto.EncryptedJSONField(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name='webhooksource',
            name='previous_secret',
            field=core.crypto.EncryptedTextField(blank=True, max_length=255),
        ),
        migrations.AlterField(
            model_name='webhooksource',
            name='secret',
            field=core.crypto.EncryptedTextField(default=surveys.models.new_secret, max_length=255),
        ),
        migrations.RunPython(encrypt_secrets, decrypt_secrets),
    ]
