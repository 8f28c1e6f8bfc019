"""Export and erase one customer's personal data. Both are audited in PrivacyLog.

Erasure keeps anonymous aggregates intact: the customer row, the responses' scores, dates,
touchpoints, locations and sentiment, the cases' status, clocks, priority and root cause all
stay, so NPS trends, SLA compliance and root-cause Paretos do not move. What identifies or
describes the person goes: name, e-mail, phone, external id and attributes; response comments
and attributes; the stored raw webhook bodies and headers; the cases' free text (resolution,
prevention, timeline notes).
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from audit.models import AuditEntry
from audit.services import AuditEvent, AuditTarget, audit_record
from cases.models import Case
from cases.rows import forget_rows
from cases.services import cases_erase_free_text
from cases.timeline import event_note
from cases.timeline_rows import forget_entries
from followup.models import Recognition, Verification
from customers.services import identities_erase
from followup.services import followup_erase_customer
from privacy.models import PrivacyLog
from surveys.models import Customer, ResponseTheme, SurveyResponse, WebhookDelivery


def _audit(*, action: str, customer_id: int, by, via: str, reason: str, summary: dict) -> PrivacyLog:
    # The site-wide audit trail too (audit app), naming the customer by id only: the entry outlives
    # an erasure, so it must hold nothing that identifies the person.
    audit_record(AuditEvent(
        action=AuditEntry.Action.EXPORT if action == PrivacyLog.Action.EXPORT else AuditEntry.Action.ERASE,
        target=AuditTarget(model=Customer, pk=customer_id, label=f"customer {customer_id}"),
        actor=by, details={"reason": reason[:255], "summary": summary, "via": via},
    ))
    return PrivacyLog.objects.create(
        action=action,
        via=via,
        customer_id=customer_id,
        actor=by if by is not None and by.is_authenticated else None,
        actor_name=by.get_username() if by is not None and by.is_authenticated else "",
        reason=reason[:255],
        summary=summary,
    )


def _customer_cases(customer: Customer):
    return Case.objects.filter(Q(customer=customer) | Q(response__customer=customer)).distinct()


def _orphan_deliveries(customer: Customer):
    """Deliveries not linked to a response (failed ones) whose raw body names the customer: a
    value in the body equal to the customer's e-mail (case-insensitive) or external id, not a
    value merely containing it (bo@example.com must not match jimbo@example.com's delivery).

    The database narrows the candidates with a case-insensitive substring test; each candidate's
    body is then parsed (JSON, else a form) and kept only on an exact match of a value."""
    email = (customer.email or "").strip().lower()
    external_id = (customer.external_id or "").strip()
    needles = {v.lower() for v in (email, external_id) if v}
    if not needles:
        return WebhookDelivery.objects.none()
    clauses, params = [], []
    for needle in needles:
        if connection.vendor == "postgresql":
            # encode(..., 'escape') turns any bytes into text; lower() then folds ASCII letters.
            clauses.append("position(%s in lower(encode(body, 'escape'))) > 0")
        else:
            clauses.append("instr(lower(body), %s) > 0")
        params.append(needle)
    candidates = WebhookDelivery.objects.filter(response__isnull=True).extra(where=[" OR ".join(clauses)], params=params)
    matching = [
        pk for pk, body in candidates.values_list("pk", "body").iterator(chunk_size=500)
        if _names_customer(bytes(body or b""), email=email, external_id=external_id)
    ]
    return WebhookDelivery.objects.filter(pk__in=matching)


def _body_values(raw: bytes):
    """Every scalar value in a stored body, as text: a JSON document walked in full, else the
    values of a form-encoded body."""
    import json
    from urllib.parse import parse_qsl

    text = raw.decode("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except ValueError:
        for key, value in parse_qsl(text, keep_blank_values=True):
            yield key
            yield value
        return
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif node is not None and not isinstance(node, bool):
            yield str(node)


def _names_customer(raw: bytes, *, email: str, external_id: str) -> bool:
    for value in _body_values(raw):
        value = value.strip()
        if (email and value.lower() == email) or (external_id and value == external_id):
            return True
    return False


def _body_text(raw) -> str:
    return bytes(raw or b"").decode("utf-8", errors="replace")


def customer_export_data(customer: Customer) -> dict:
    """Everything stored about the customer, as JSON-ready data."""
    responses = SurveyResponse.objects.filter(customer=customer).select_related("survey", "source").order_by("answered_at")
    deliveries = WebhookDelivery.objects.filter(Q(response__customer=customer) | Q(pk__in=_orphan_deliveries(customer)))
    cases = _customer_cases(customer).select_related("team", "root_cause").prefetch_related("events")
    return {
        "customer": {
            "id": customer.pk,
            "external_id": customer.external_id,
            "email": customer.email,
            "name": customer.name,
            "phone": customer.phone,
            "tier": customer.tier,
            "segment": customer.segment,
            "account_value": str(customer.account_value) if customer.account_value is not None else None,
            "attributes": customer.attributes,
            "contact_opt_out": customer.contact_opt_out,
            "erased_at": customer.erased_at.isoformat() if customer.erased_at else None,
            "created_at": customer.created_at.isoformat(),
        },
        "responses": [
            {
                "id": r.pk,
                "source": r.source.slug,
                "survey": r.survey.name,
                "external_id": r.external_id,
                "answered_at": r.answered_at.isoformat(),
                "nps": r.nps,
                "csat": str(r.csat) if r.csat is not None else None,
                "ces": str(r.ces) if r.ces is not None else None,
                "scores": r.scores,
                "comment": r.comment,
                "touchpoint": r.touchpoint,
                "channel": r.channel,
                "location": r.location,
                "region": r.region,
                "attributes": r.attributes,
                "sentiment": r.sentiment,
                "language": r.language,
                "themes": [{"theme": link.theme.name, "matches": link.matches} for link in r.theme_links.all()],
            }
            for r in responses.prefetch_related("theme_links__theme")
        ],
        "webhook_deliveries": [
            {
                "id": d.pk,
                "delivery_id": d.delivery_id,
                "received_at": d.received_at.isoformat(),
                "status": d.status,
                "body": _body_text(d.body),
            }
            for d in deliveries.order_by("received_at")
        ],
        "cases": [
            {
                "reference": c.reference,
                "team": c.team.name,
                "status": c.status,
                "priority": c.priority,
                "created_at": c.created_at.isoformat(),
                "closed_at": c.closed_at.isoformat() if c.closed_at else None,
                "root_cause": str(c.root_cause) if c.root_cause else None,
                "outcome": c.outcome,
                "resolution": c.resolution,
                "prevention": c.prevention,
                "timeline": [
                    {"kind": e.kind, "at": e.created_at.isoformat(), "note": event_note(e), "from": e.from_value,
                     "to": e.to_value}
                    for e in c.events.all()
                ],
            }
            for c in cases
        ],
        "recovery_checks": [
            {
                "case": v.case.reference,
                "email": v.email,
                "status": v.status,
                "sent_at": v.sent_at.isoformat() if v.sent_at else None,
                "answered_at": v.answered_at.isoformat() if v.answered_at else None,
                "answer": v.answer_text if v.answered_at else None,
                "comment": v.comment,
            }
            for v in Verification.objects.filter(customer=customer).select_related("case").order_by("created_at")
        ],
        "recognitions": [
            {"response": r.response_id, "quote": r.quote, "created_at": r.created_at.isoformat()}
            for r in Recognition.objects.filter(response__customer=customer).order_by("created_at")
        ],
    }


def customer_export(*, customer_id: int, by=None, via: str = PrivacyLog.Via.COMMAND, reason: str = "") -> dict:
    """The customer's data (see customer_export_data), with the export audited."""
    customer = Customer.objects.get(pk=customer_id)
    data = customer_export_data(customer)
    summary = {key: len(value) for key, value in data.items() if isinstance(value, list)}
    _audit(action=PrivacyLog.Action.EXPORT, customer_id=customer.pk, by=by, via=via, reason=reason, summary=summary)
    return data


@transaction.atomic
def customer_erase(*, customer_id: int, by=None, via: str = PrivacyLog.Via.COMMAND, reason: str = "") -> dict:
    """Strip the customer's personal data everywhere it is stored; returns what was touched.
    Running it twice is harmless (the second run finds nothing left to erase)."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    now = timezone.now()
    orphan_ids = list(_orphan_deliveries(customer).values_list("pk", flat=True))
    response_ids = list(SurveyResponse.objects.filter(customer=customer).values_list("pk", flat=True))

    summary = {
        "responses": SurveyResponse.objects.filter(pk__in=response_ids).update(comment="", attributes={}),
        # The matched words are pieces of the comment; which themes a response was about stays
        # (it is what reporting counts, and says nothing about who wrote it).
        "theme_matches": ResponseTheme.objects.filter(response_id__in=response_ids).exclude(matches=[])
        .update(matches=[]),
        "webhook_deliveries": WebhookDelivery.objects.filter(Q(response_id__in=response_ids) | Q(pk__in=orphan_ids))
        .update(body=b"", headers={}, error=""),
    }

    ids = list(_customer_cases(customer).values_list("pk", flat=True))
    # The case side goes through the cases service, like every other write to a case.
    summary.update(cases_erase_free_text(case_ids=ids, by=by, record=customer.erased_at is None, at=now))
    summary.update(followup_erase_customer(customer_id=customer.pk))
    summary["identities"] = identities_erase(customer_id=customer.pk)  # e-mails and phones it was known by

    Customer.objects.filter(pk=customer.pk).update(
        email="", name="", phone="", external_id=None, attributes={}, contact_opt_out=True, erased_at=now, updated_at=now
    )
    _audit(action=PrivacyLog.Action.ERASE, customer_id=customer.pk, by=by, via=via, reason=reason, summary=summary)
    # Inbox rows and timeline entries kept per process (cases.rows, cases.timeline_rows) are keyed
    # on the values they print, so the erased ones are never shown again; every process also
    # drops what it kept, so the erased words do not stay in its memory either.
    forget_rows()
    forget_entries()
    return summary
