"""Writing segments: one door for the settings page, the API and the admin. Each change is
recorded in the audit trail by django-auditlog (config/settings/audit.py tracks segments.segment)
and announced with segments.signals.segment_changed, so alert rules and routing recompile.

    segment_save(segment) -> Segment   (validated: name, slug, conditions)
    segment_delete(segment)
"""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from segments.conditions import clean_conditions, condition_problems
from segments.models import Segment
from segments.signals import segment_changed


@transaction.atomic
def segment_save(segment: Segment) -> Segment:
    """Validate and save; the conditions are stored normalized, the slug made from the name when blank."""
    if not segment.slug:
        segment.slug = slugify(segment.name)[:120]
    segment.full_clean()  # Segment.clean: condition_problems
    segment.conditions = clean_conditions(segment.conditions)
    segment.save()
    transaction.on_commit(lambda: segment_changed.send(sender=Segment, segment_id=segment.pk))
    return segment


@transaction.atomic
def segment_delete(segment: Segment) -> None:
    segment_id = segment.pk
    segment.delete()
    transaction.on_commit(lambda: segment_changed.send(sender=Segment, segment_id=segment_id))


__all__ = ["condition_problems", "segment_delete", "segment_save"]
