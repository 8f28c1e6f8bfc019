"""What the audit tests read: the entries written after a mark, as the fields a reader relies on."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry


class Trail:
    """`trail.mark()` before an action, `trail.new()` after it: the entries it wrote, oldest first."""

    def __init__(self):
        self.since = 0

    def mark(self) -> None:
        self.since = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def entries(self) -> list[AuditEntry]:
        return list(AuditEntry.objects.filter(pk__gt=self.since).select_related("content_type").order_by("pk"))

    def new(self) -> list[dict]:
        return [summary(entry) for entry in self.entries()]


def summary(entry: AuditEntry) -> dict:
    return {
        "action": entry.action_name, "object_type": entry.object_type, "object_pk": entry.object_pk,
        "object_repr": entry.object_repr, "actor_id": entry.actor_id, "actor_username": entry.actor_username,
        "via": entry.via, "changes": entry.changes, "details": entry.additional_data,
    }


@pytest.fixture
def trail(db) -> Trail:
    return Trail()
