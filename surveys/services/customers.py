"""Finding or creating the customer a response names (external id, then e-mail, then phone), and
filling in what a later response tells about them. A customer a person merged into another
(`merged_into`) is followed to that one."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from core import unit_of_work
from core.unit_of_work import insert, is_staged
from surveys.models import Customer
from surveys.normalized import CustomerIdentity
from surveys.services.lookups import RecordLookups


def customer_find_or_create(identity: CustomerIdentity, lookups: RecordLookups | None = None) -> Customer | None:
    """External id first, then e-mail (case-insensitive); created when neither matches.

    Race-safe: the unique constraints decide, and a lost race re-reads the winner's row. With
    `lookups` the first match is answered from the batch's reads; a retry always asks the database."""
    if not any([identity.external_id, identity.email, identity.name, identity.phone]):
        return None
    for attempt in range(3):
        if lookups is not None and attempt == 0 and lookups.can_answer(identity):
            customer = lookups.customer_match(identity)
        else:
            customer = _customer_match(identity)
        if customer is None:
            fields = {
                "external_id": identity.external_id or None, "email": identity.email, "name": identity.name,
                "phone": identity.phone, "tier": identity.tier, "segment": identity.segment,
                "account_value": identity.account_value, "attributes": identity.attributes or {},
            }
            if lookups is not None and lookups.optimistic and attempt == 0:
                customer = insert(Customer(**fields))  # a lost race aborts the transaction (see RecordLookups)
            else:
                try:
                    with transaction.atomic():
                        customer = Customer.objects.create(**fields)
                except IntegrityError:
                    continue  # someone created it meanwhile (or the e-mail belongs to another id): match again
        elif customer.merged_into_id is not None:
            # A person merged this customer into another (customers.services.customer_merge):
            # record for that one, telling it only what identifies nobody (Identity keeps the rest).
            customer = customer.merged_into
            _customer_enrich(customer, replace(identity, external_id="", email=""))
        else:
            _customer_enrich(customer, identity)
        if lookups is not None:
            lookups.stage("customer", None, customer)
        return customer
    # E-mail already belongs to a customer with another external id: keep the id, drop the e-mail.
    with transaction.atomic():
        return Customer.objects.create(external_id=identity.external_id or None, name=identity.name,
                                       phone=identity.phone, tier=identity.tier, segment=identity.segment,
                                       account_value=identity.account_value,
                                       attributes={**(identity.attributes or {}), "email": identity.email})


def _customer_match(identity: CustomerIdentity) -> Customer | None:
    if identity.external_id:
        found = Customer.objects.select_related("merged_into").filter(external_id=identity.external_id).first()
        if found is not None:
            return found
    if identity.email:
        found = (Customer.objects.select_related("merged_into").annotate(email_ci=Lower("email"))
                 .filter(email_ci=identity.email.lower()).first())
        if found is not None and not (identity.external_id and found.external_id):
            return found
    if not identity.external_id and not identity.email and identity.phone:
        return (Customer.objects.select_related("merged_into")
                .filter(phone=identity.phone, external_id__isnull=True, email="").first())
    return None


def _customer_enrich(customer: Customer, identity: CustomerIdentity) -> None:
    changed = []
    fields = ["tier", "segment"] + ([] if customer.erased_at else ["name", "phone"])
    for name in fields:
        value = getattr(identity, name)
        if value and getattr(customer, name) != value:
            setattr(customer, name, value)
            changed.append(name)
    if identity.account_value is not None and customer.account_value != Decimal(identity.account_value):
        customer.account_value = identity.account_value
        changed.append("account_value")
    if identity.attributes and any(customer.attributes.get(k) != v for k, v in identity.attributes.items()):
        customer.attributes = {**customer.attributes, **identity.attributes}
        changed.append("attributes")
    ids = []
    if identity.external_id and not customer.external_id:
        customer.external_id = identity.external_id
        ids.append("external_id")
    if identity.email and not customer.email and not customer.erased_at:
        customer.email = identity.email
        ids.append("email")
    if not changed and not ids or is_staged(customer):  # a row still to be inserted carries its new values
        return
    if not ids and (batch := unit_of_work.current()) is not None:
        # Nothing unique changes, so nothing can conflict: written with the batch's other
        # customers whose same fields change, in one UPDATE, before its cases are opened.
        customer.updated_at = timezone.now()
        batch.update(customer, changed + ["updated_at"])
        return
    try:
        with transaction.atomic():
            customer.save(update_fields=changed + ids + ["updated_at"])
    except IntegrityError:  # the id or e-mail was taken by another customer meanwhile
        customer.refresh_from_db()
        if changed:
            for name in changed:
                setattr(customer, name, getattr(identity, name) if name != "attributes" else
                        {**customer.attributes, **identity.attributes})
            customer.save(update_fields=changed + ["updated_at"])
