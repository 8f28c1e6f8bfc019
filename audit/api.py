"""GET /api/v1/audit/ (and /api/v1/audit/{id}/): the audit trail, read-only, CX admins only
(others: 404; no credentials: 401). Newest first, paginated, with the filters of the page
(audit.filtersets)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from accounts.permissions import IsCxAdmin
from audit.filtersets import ACTIONS, AuditEntryFilterSet
from audit.models import AuditEntry
from audit.selectors import audit_entries


@extend_schema_field({"type": "object", "additionalProperties": True,
                      "description": "{field: [old, new]}; a secret shows as ******** (set) or \"\" (empty); "
                                     "a many-to-many change as {type: m2m, operation: add|delete, objects: [...]}"})
class ChangesField(serializers.JSONField):
    pass


class AuditEntrySerializer(serializers.ModelSerializer):
    action = serializers.ChoiceField(choices=ACTIONS, source="action_name", read_only=True)
    actor_id = serializers.IntegerField(read_only=True, allow_null=True,
                                        help_text="The user's id, kept after the user is deleted.")
    actor = serializers.CharField(source="who", read_only=True,
                                  help_text="The user name as it was, or `command <name>` / `system`.")
    object_type = serializers.CharField(read_only=True, help_text="app_label.model, e.g. alerts.alertrule.")
    object_id = serializers.CharField(source="object_pk", read_only=True)
    changes = ChangesField(read_only=True, allow_null=True)
    details = serializers.JSONField(source="additional_data", read_only=True, allow_null=True)
    ip_address = serializers.IPAddressField(source="remote_addr", read_only=True, allow_null=True)
    request_id = serializers.CharField(source="cid", read_only=True, allow_null=True)

    class Meta:
        model = AuditEntry
        fields = ["id", "timestamp", "action", "actor_id", "actor", "actor_email", "via", "object_type",
                  "object_id", "object_repr", "changes", "details", "ip_address", "user_agent", "request_id"]
        read_only_fields = fields


class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail: changes to settings, rules, users, roles, API tokens and webhook sources,
    sign-ins, personal-data exports and erasures. Filters: `actor` (user name, or `system` /
    `command <name>`), `actor_id`, `object_type` (e.g. `alerts.alertrule`), `action` (create,
    update, delete, sign_in, sign_in_failed, sign_out, personal_data_export, personal_data_erasure),
    `date_from`, `date_to` (YYYY-MM-DD, inclusive, UTC)."""

    permission_classes = [IsCxAdmin]
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilterSet
    queryset = AuditEntry.objects.none()

    def get_queryset(self):
        return audit_entries()
