"""Reading the audit trail: the entries newest first, and each entry's changes in words (the
page and the CSV export show the same sentences)."""

from __future__ import annotations

import json
from datetime import UTC

from django.db.models import QuerySet

from audit.models import AuditEntry


def audit_entries() -> QuerySet[AuditEntry]:
    return AuditEntry.objects.select_related("content_type").order_by("-timestamp", "-id")


def _shown(value) -> str:
    if value is None:
        return "(none)"
    if value == "":
        return "(empty)"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def change_lines(entry: AuditEntry) -> list[str]:
    """["name: Gold → Platinum", "surveys: added Onboarding", ...] in field order."""
    lines = []
    for name, change in (entry.changes or {}).items():
        if isinstance(change, dict) and change.get("type") == "m2m":
            verb = "added" if change.get("operation") == "add" else "removed"
            lines.append(f"{name}: {verb} {', '.join(str(o) for o in change.get('objects', []))}")
        elif isinstance(change, (list, tuple)) and len(change) == 2:
            lines.append(f"{name}: {_shown(change[0])} → {_shown(change[1])}")
        else:
            lines.append(f"{name}: {_shown(change)}")
    return lines


CSV_HEADER = ["id", "time_utc", "actor_id", "actor", "actor_email", "via", "action", "object_type", "object_id",
              "object", "changes", "details", "ip_address", "user_agent", "request_id"]


def csv_row(entry: AuditEntry) -> list:
    return [
        entry.pk, entry.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), entry.actor_id or "", entry.who,
        entry.actor_email or "", entry.via, entry.action_name, entry.object_type, entry.object_pk, entry.object_repr,
        "; ".join(change_lines(entry)),
        json.dumps(entry.additional_data, ensure_ascii=False, sort_keys=True) if entry.additional_data else "",
        entry.remote_addr or "", entry.user_agent, entry.cid or "",
    ]
