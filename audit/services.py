"""Writing to the audit trail what is not a model change: sign-ins (audit.receivers) and
personal-data exports and erasures (privacy.services calls `audit_record`), imports (imports.services). Model changes are
written by django-auditlog's receivers; both land in AuditEntry through the same `create`.

    audit_record(AuditEvent(action=AuditEntry.Action.EXPORT,
                            target=AuditTarget(model=Customer, pk=7, label="customer 7"),
                            actor=request.user, details={"reason": "...", "summary": {...}}))
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import models

from audit.context import clean_text
from audit.models import AuditEntry


@dataclass(frozen=True)
class AuditTarget:
    """What an event is about. `label` is what the trail shows: for a customer, never their name
    or address (the entry outlives an erasure), only "customer <id>"."""

    model: type[models.Model]
    pk: int | str | None
    label: str


@dataclass(frozen=True)
class AuditEvent:
    action: int  # AuditEntry.Action.SIGN_IN, SIGN_IN_FAILED, SIGN_OUT, EXPORT, ERASE, IMPORT
    target: AuditTarget
    actor: object | None = None  # the user who acted; None: the request's user, or the command / system
    details: dict = field(default_factory=dict)


def audit_record(event: AuditEvent) -> AuditEntry:
    actor = event.actor if event.actor is not None and getattr(event.actor, "is_authenticated", False) else None
    pk = event.target.pk
    return AuditEntry.objects.create(
        action=event.action,
        content_type=ContentType.objects.get_for_model(event.target.model),
        object_pk="" if pk is None else str(pk),
        object_id=pk if isinstance(pk, int) else None,
        object_repr=clean_text(event.target.label, 200),
        additional_data=event.details or None,
        actor=actor,
    )
