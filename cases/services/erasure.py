"""The case side of a personal-data erasure (privacy calls it)."""

from __future__ import annotations

import datetime as dt
import re

from django.db import transaction
from django.db.models import F

from cases.mail.models import InboundMail
from cases.models import (
    Case,
    CaseEvent,
)
from cases.services.flow import (
    _now,
)
from cases.timeline import SAID_ERASED, said

# --- personal-data erasure (privacy calls this; the case side of an erasure) --------------------
ERASED = "[erased]"
# Keys in a timeline event's `data` that may hold free text or contact details.
FREE_TEXT_KEYS = re.compile(r"e-?mail|phone|body|subject|comment|text|message|note|name|address|to$", re.IGNORECASE)


@transaction.atomic
def cases_erase_free_text(*, case_ids: list[int], by=None, record: bool = True, at: dt.datetime | None = None) -> dict:
    """Strip free text a person wrote about a customer from these cases and their timelines
    (resolution, prevention, notes, contact details in event data). Closed cases keep the
    placeholder "[erased]" as resolution (the closure constraint). Bumps each version; with
    `record`, adds a timeline note saying the data was erased. Returns what was touched."""
    now = _now(at)
    cases = list(Case.objects.filter(pk__in=case_ids).select_for_update().values_list("pk", "status"))
    locked = [pk for pk, _ in cases]
    closed = [pk for pk, status in cases if status == Case.Status.CLOSED]
    Case.objects.filter(pk__in=closed).update(resolution=ERASED, prevention="", version=F("version") + 1)
    Case.objects.filter(pk__in=locked).exclude(pk__in=closed).update(resolution="", prevention="", version=F("version") + 1)
    events = 0
    for event in CaseEvent.objects.filter(case_id__in=locked).exclude(note="", data={}):
        data = {k: v for k, v in (event.data or {}).items() if not FREE_TEXT_KEYS.search(str(k))}
        if event.note or data != event.data:
            CaseEvent.objects.filter(pk=event.pk).update(note="", data=data)
            events += 1
    # E-mail that came back to these cases (cases/mail): the row stays (its Message-ID keeps a
    # replay from landing again), the customer's words and address go.
    InboundMail.objects.filter(case_id__in=locked).update(from_address="", subject="", text="", attachments=[],
                                                          data={})
    if record:
        actor = by if by is not None and by.is_authenticated else None
        CaseEvent.objects.bulk_create(
            [
                CaseEvent(case_id=pk, kind=CaseEvent.Kind.NOTE, actor=actor,
                          data=said(SAID_ERASED), created_at=now)
                for pk in locked
            ]
        )
    return {"cases": len(locked), "case_events": events}
