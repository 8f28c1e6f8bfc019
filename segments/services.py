"""Writing segments: one door for the settings page, the API and the admin. Each change is
recorded in the audit trail by django-auditlog (config/settings/audit.py tracks segments.segment)
and announced with segments.signals.segment_changed, so alert rules and routing recompile.

    segment_save(segment) -> Segment   (validated: name, slug, conditions)
    segment_delete(segment)            (SegmentInUse while a rule names it)
"""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

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


class SegmentInUse(Exception):
    """A segment that rules still name cannot be deleted: without it they would match everyone."""

    def __init__(self, segment: Segment, users: list[str]):
        self.segment, self.users = segment, users
        super().__init__(_("“%(segment)s” is used by %(users)s: take it out of them first.")
                         % {"segment": segment.name, "users": "; ".join(users)})


def segment_users(segment: Segment) -> list[str]:
    """The alert and routing rules that name a segment, in words ("alert rule “Gold detractors”")."""
    users = [_("alert rule “%(name)s”") % {"name": name}
             for name in segment.alert_rules.order_by("name").values_list("name", flat=True)]
    users += [_("routing rule “%(name)s”") % {"name": name}
              for name in segment.routing_rules.order_by("name").values_list("name", flat=True)]
    return users


@transaction.atomic
def segment_delete(segment: Segment) -> None:
    """Delete a segment no rule names (SegmentInUse otherwise)."""
    users = segment_users(segment)
    if users:
        raise SegmentInUse(segment, users)
    segment_id = segment.pk
    segment.delete()
    transaction.on_commit(lambda: segment_changed.send(sender=Segment, segment_id=segment_id))


__all__ = ["SegmentInUse", "condition_problems", "segment_delete", "segment_save", "segment_users"]
