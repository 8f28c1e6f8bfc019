"""Customers from a CRM (imports: a CSV file or POST /api/v1/customers/bulk/), upserted in bulk.

A row finds its customer by the rules recording follows for a delivery (MATCHING_RULES,
surveys.services.customers): the external id first; else the e-mail, ignoring case, unless the
row and the customer carry different external ids (then a new customer, the e-mail kept as an
identity: a suspected duplicate); else, for a row with neither, the phone in E.164 of a customer
who has neither; a customer merged into another is followed to that one. The difference is the
cost: the batch's customers are read in three queries and written in one COPY and an UPDATE per
set of changed fields (core.unit_of_work).

What the row fills in is what the CRM says now, so it replaces name, phone, tier, segment and
value (an empty cell changes nothing); its other columns (and a language) are merged into the
customer's attributes. External id and e-mail are only added where the customer has none, as
deliveries do; every identifier the row names is kept as an Identity. An erased customer's name,
phone and e-mail are never written back."""

from __future__ import annotations

from django.db.models.functions import Lower
from django.utils import timezone

from core.unit_of_work import insert_all, unit_of_work
from customers.models import Identity
from customers.services.identities import identity_keys
from imports.registry import CREATED, UNCHANGED, UPDATED, BatchOutcome, Row
from surveys.models import Customer
from surveys.normalized import CustomerIdentity

FIELDS = {"name": "name", "phone": "phone", "tier": "tier", "segment": "segment", "value": "account_value"}
PERSONAL = {"name", "phone"}


class _Index:
    """The batch's customers by external id, e-mail (lower case) and phone, one instance per row."""

    def __init__(self, rows: list[Row]):
        ids = {r.get("external_id") for r in rows if r.get("external_id")}
        emails = {r.get("email").lower() for r in rows if r.get("email")}
        phones = {r.get("phone") for r in rows if r.get("phone") and not r.get("external_id") and not r.get("email")}
        self.by_pk: dict[int, Customer] = {}
        self.by_id: dict[str, Customer] = {}
        self.by_email: dict[str, Customer] = {}
        self.by_phone: dict[str, Customer] = {}
        found = []
        if ids:
            found += Customer.objects.select_related("merged_into").filter(external_id__in=ids)
        if emails:
            found += (Customer.objects.select_related("merged_into").annotate(email_ci=Lower("email"))
                      .filter(email_ci__in=emails))
        if phones:
            found += Customer.objects.select_related("merged_into").filter(
                phone__in=phones, external_id__isnull=True, email="")
        for customer in found:
            self.add(customer)

    def one(self, customer: Customer) -> Customer:
        return self.by_pk.setdefault(customer.pk, customer) if customer.pk else customer

    def add(self, customer: Customer) -> Customer:
        customer = self.one(customer)
        if customer.merged_into_id is not None:
            customer.merged_into = self.one(customer.merged_into)
        if customer.external_id:
            self.by_id.setdefault(customer.external_id, customer)
        if customer.email:
            self.by_email.setdefault(customer.email.lower(), customer)
        if customer.phone and not customer.external_id and not customer.email:
            self.by_phone.setdefault(customer.phone, customer)
        return customer

    def match(self, external_id: str, email: str, phone: str) -> Customer | None:
        if external_id and external_id in self.by_id:
            return self.by_id[external_id]
        if email and (found := self.by_email.get(email.lower())) is not None:
            if not (external_id and found.external_id):
                return found
        if not external_id and not email and phone:
            return self.by_phone.get(phone)
        return None


def _attributes(row: Row) -> dict:
    attributes = dict(row.extra)
    if row.get("language"):
        attributes["language"] = row.get("language")
    return attributes


def _apply(customer: Customer, row: Row, index: _Index) -> set[str]:
    """Write what the row says onto `customer`; the fields that changed."""
    changed = set()
    for column, name in FIELDS.items():
        value = row.get(column)
        if value is None or (name in PERSONAL and customer.erased_at) or getattr(customer, name) == value:
            continue
        setattr(customer, name, value)
        changed.add(name)
    attributes = _attributes(row)
    if any(customer.attributes.get(k) != v for k, v in attributes.items()):
        customer.attributes = {**customer.attributes, **attributes}
        changed.add("attributes")
    external_id, email = row.get("external_id"), row.get("email")
    if external_id and not customer.external_id and external_id not in index.by_id:
        customer.external_id = external_id
        index.by_id[external_id] = customer
        changed.add("external_id")
    if email and not customer.email and not customer.erased_at and email.lower() not in index.by_email:
        customer.email = email
        index.by_email[email.lower()] = customer
        changed.add("email")
    return changed


def customers_upsert(rows: list[Row]) -> BatchOutcome:
    """The customers importer's write (see the module): one outcome per row."""
    index, outcome = _Index(rows), BatchOutcome()
    new: list[Customer] = []
    changed: dict[int, set[str]] = {}
    targets: list[tuple[Row, Customer, str]] = []
    for row in rows:
        external_id, email, phone = row.get("external_id", ""), row.get("email", ""), row.get("phone", "")
        customer = index.match(external_id, email, phone)
        if customer is None:
            taken = bool(email) and email.lower() in index.by_email
            customer = Customer(external_id=external_id or None, email="" if taken else email,
                                attributes={"email": email} if taken else {})
            _apply(customer, row, index)
            index.add(customer)
            new.append(customer)
            targets.append((row, customer, CREATED))
            continue
        told = row
        if customer.merged_into_id is not None:  # followed; it learns only what identifies nobody
            customer = customer.merged_into
            told = Row(number=row.number, extra=row.extra,
                       values={k: v for k, v in row.values.items() if k not in ("external_id", "email")})
        fields = _apply(customer, told, index)
        if customer.pk is not None and customer not in new:
            changed.setdefault(customer.pk, set()).update(fields)
        targets.append((row, customer, UPDATED if fields else UNCHANGED))
    now = timezone.now()
    # One COPY for the new customers (their ids taken from the sequence first), one UPDATE per set
    # of changed fields, one INSERT ... ON CONFLICT DO NOTHING for the identities (core.unit_of_work).
    with unit_of_work(size_hint=max(1, len(new))) as batch:
        for customer in new:
            batch.insert(customer)
        for pk, fields in changed.items():
            if fields:
                customer = index.by_pk[pk]
                customer.updated_at = now
                batch.update(customer, sorted(fields | {"updated_at"}))
        identities = {}
        for row, customer, result in targets:
            outcome.done(row, result, customer.pk)
            identity = CustomerIdentity(external_id=row.get("external_id", ""), email=row.get("email", ""),
                                        phone=row.get("phone", ""))
            for key in identity_keys(customer_id=customer.pk, source_id=None, identity=identity):
                identities[key] = Identity(customer_id=key[0], kind=key[1], source_id=key[2], value=key[3])
        insert_all(list(identities.values()), ignore_conflicts=True)
    return outcome
