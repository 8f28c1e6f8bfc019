"""The audit trail: one append-only table of who changed what, when and from where.

django-auditlog writes the rows for model changes (its signal receivers, configured in
settings.AUDITLOG_INCLUDE_TRACKING_MODELS); `audit.services.audit_record` writes the events that
are not model changes (sign-ins, personal-data exports and erasures). Both go through
`AuditEntry.objects.create`, which adds the actor and the origin of the current request or
command (audit.context).

Append-only: an entry is never updated or deleted. The model and its querysets refuse it
(`AppendOnlyError`), and on PostgreSQL a trigger created by migration 0001 refuses UPDATE and
DELETE on the table whatever the client. The actor is a user id without a foreign-key
constraint plus copies of the user name and e-mail, so deleting the person changes no entry.
"""

from __future__ import annotations

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.conf import settings
from django.db import IntegrityError, models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(IntegrityError):
    """An attempt to change or delete an audit entry."""

    def __init__(self, what: str = "changed or deleted"):
        super().__init__(f"The audit trail is append-only: an entry cannot be {what}.")


class AuditEntryQuerySet(models.QuerySet):
    def create(self, **fields):
        from audit.context import origin_fields

        return super().create(**{**origin_fields(actor=fields.pop("actor", None)), **fields})

    def update(self, **kwargs):
        raise AppendOnlyError("updated")

    def delete(self):
        raise AppendOnlyError("deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("updated")

    def _raw_delete(self, using):
        raise AppendOnlyError("deleted")

    _raw_delete.queryset_only = True


class AuditEntryManager(LogEntryManager.from_queryset(AuditEntryQuerySet)):
    """django-auditlog's manager (log_create, get_for_object...) over the append-only queryset."""


class AuditEntry(AbstractLogEntry):
    """One change to a setting, rule, user, token or source, or one sign-in or personal-data
    request. `changes` is {field: [old, new]} (secrets appear as a mask: that they changed,
    never their value); `additional_data` holds an event's details."""

    class Action(AbstractLogEntry.Action):
        # 0-3 are django-auditlog's (create, update, delete, access).
        SIGN_IN = 10
        SIGN_IN_FAILED = 11
        SIGN_OUT = 12
        EXPORT = 20
        ERASE = 21
        IMPORT = 30

        choices = (
            (AbstractLogEntry.Action.CREATE, _("create")),
            (AbstractLogEntry.Action.UPDATE, _("update")),
            (AbstractLogEntry.Action.DELETE, _("delete")),
            (AbstractLogEntry.Action.ACCESS, _("access")),
            (SIGN_IN, _("sign-in")),
            (SIGN_IN_FAILED, _("failed sign-in")),
            (SIGN_OUT, _("sign-out")),
            (EXPORT, _("personal-data export")),
            (ERASE, _("personal-data erasure")),
            (IMPORT, _("import")),
        )
        # The names the API and the filters use.
        names = {
            AbstractLogEntry.Action.CREATE: "create", AbstractLogEntry.Action.UPDATE: "update",
            AbstractLogEntry.Action.DELETE: "delete", AbstractLogEntry.Action.ACCESS: "access",
            SIGN_IN: "sign_in", SIGN_IN_FAILED: "sign_in_failed", SIGN_OUT: "sign_out",
            EXPORT: "personal_data_export", ERASE: "personal_data_erasure",
            IMPORT: "import",
        }

    action = models.PositiveSmallIntegerField(choices=Action.choices, verbose_name=_("action"), db_index=True)
    # A content type is never deleted while entries name it (it would take them with it).
    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, related_name="+", verbose_name=_("content type"),
    )
    # The user id, kept when the user is deleted: no constraint, nothing cascades or is set null.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+", verbose_name=_("actor"),
    )
    actor_username = models.CharField(_("actor user name"), max_length=150, blank=True)
    via = models.CharField(
        _("via"), max_length=120, blank=True,
        help_text=_("page, admin, api, command <name> or system: the door the change came through."),
    )
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)

    objects = AuditEntryManager()

    class Meta(AbstractLogEntry.Meta):
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-timestamp", "-id"]
        indexes = [
            # The page and the API list newest first, often for one object type or one actor.
            models.Index(fields=["content_type", "-timestamp"], name="audit_entry_type_time"),
            models.Index(fields=["actor_username", "-timestamp"], name="audit_entry_actor_time"),
        ]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("updated")
        kwargs["force_insert"] = True
        kwargs.pop("force_update", None)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("deleted")

    @property
    def action_name(self) -> str:
        return self.Action.names.get(self.action, str(self.action))

    @property
    def object_type(self) -> str:
        return f"{self.content_type.app_label}.{self.content_type.model}"

    @property
    def who(self) -> str:
        """The person (user name as it was), else the command or "system"."""
        return self.actor_username or self.via or "system"
