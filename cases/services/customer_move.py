"""The case side of a customer merge or unmerge (customers.services): cases that name one
customer are moved to another, each with a NOTE event on its timeline and its version bumped
(so an edit loaded before the move is told what changed), the same way as every other write to
a case."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from cases import live
from cases.models import Case, CaseEvent
from cases.services.flow import _now
from core.unit_of_work import insert_all


@transaction.atomic
def cases_move_customer(*, case_ids: list[int], customer_id: int | None, by, note: str,
                        data: dict | None = None, at: dt.datetime | None = None) -> list[int]:
    """Point `case_ids` at `customer_id`, locking them in id order; cases that already name that
    customer are left alone. Returns the ids moved. `note` is what the timeline says (who merged
    whom, and why); `data` is kept on the event for the audit."""
    if not case_ids:
        return []
    at = _now(at)
    cases = list(Case.objects.select_for_update().filter(pk__in=case_ids).order_by("pk"))
    moved = [case for case in cases if case.customer_id != customer_id]
    events = []
    for case in moved:
        events.append(CaseEvent(
            case=case, kind=CaseEvent.Kind.NOTE, actor=by, from_value=str(case.customer_id or "")[:255],
            to_value=str(customer_id or "")[:255], note=note, created_at=at, version=case.version + 1,
            data={**(data or {}), "action": "customer_moved", "from_customer": case.customer_id,
                  "to_customer": customer_id},
        ))
        case.customer_id = customer_id
        case.version += 1
        case.updated_at = at
    if moved:
        Case.objects.bulk_update(moved, ["customer", "version", "updated_at"])
        insert_all(events)
        live.touch(team_ids=[c.team_id for c in moved], case_ids=[c.pk for c in moved])
    return [c.pk for c in moved]
