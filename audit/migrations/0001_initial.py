import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

# On PostgreSQL the table refuses UPDATE and DELETE from any client (the ORM refuses them too, on
# every database: audit.models). TRUNCATE, which the test suite's flush uses, is not a row event.
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'The audit trail is append-only: % on audit_auditentry refused.', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_entry_append_only();
"""


def append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, None)


def drop_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY, None)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("object_pk", models.CharField(db_index=True, max_length=255, verbose_name="object pk")),
                ("object_id", models.BigIntegerField(blank=True, db_index=True, null=True, verbose_name="object id")),
                ("object_repr", models.TextField(verbose_name="object representation")),
                ("serialized_data", models.JSONField(null=True)),
                ("changes_text", models.TextField(blank=True, verbose_name="change message")),
                ("changes", models.JSONField(null=True, verbose_name="change message")),
                ("cid", models.CharField(blank=True, db_index=True, max_length=255, null=True,
                                         verbose_name="Correlation ID")),
                ("remote_addr", models.GenericIPAddressField(blank=True, null=True, verbose_name="remote address")),
                ("remote_port", models.PositiveIntegerField(blank=True, null=True, verbose_name="remote port")),
                ("timestamp", models.DateTimeField(db_index=True, default=django.utils.timezone.now,
                                                   verbose_name="timestamp")),
                ("additional_data", models.JSONField(blank=True, null=True, verbose_name="additional data")),
                ("actor_email", models.CharField(blank=True, max_length=254, null=True, verbose_name="actor email")),
                ("action", models.PositiveSmallIntegerField(
                    choices=[(0, "create"), (1, "update"), (2, "delete"), (3, "access"), (10, "sign-in"),
                             (11, "failed sign-in"), (12, "sign-out"), (20, "personal-data export"),
                             (21, "personal-data erasure")],
                    db_index=True, verbose_name="action")),
                ("actor_username", models.CharField(blank=True, max_length=150, verbose_name="actor user name")),
                ("via", models.CharField(
                    blank=True, help_text="page, admin, api, command <name> or system: the door the change came through.",
                    max_length=120, verbose_name="via")),
                ("user_agent", models.CharField(blank=True, max_length=300, verbose_name="user agent")),
                ("actor", models.ForeignKey(
                    blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING,
                    related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="actor")),
                ("content_type", models.ForeignKey(
                    on_delete=django.db.models.deletion.PROTECT, related_name="+", to="contenttypes.contenttype",
                    verbose_name="content type")),
            ],
            options={
                "verbose_name": "audit entry",
                "verbose_name_plural": "audit entries",
                "ordering": ["-timestamp", "-id"],
                "get_latest_by": "timestamp",
                "abstract": False,
                "indexes": [
                    models.Index(fields=["content_type", "-timestamp"], name="audit_entry_type_time"),
                    models.Index(fields=["actor_username", "-timestamp"], name="audit_entry_actor_time"),
                ],
            },
        ),
        migrations.RunPython(append_only, drop_append_only),
    ]
