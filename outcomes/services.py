"""Writing outcome events: `outcome_events_upsert`, the one write path (the bulk API, the Stripe
preset and a CSV import all call it with `OutcomeRow`s, outcomes.rows)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower

from customers.models import Account, Identity
from outcomes.models import OutcomeEvent, OutcomeEventKey
from outcomes.rows import OutcomeRow
from surveys.models import Customer

UPDATED_FIELDS = ("customer_id", "account_id", "kind", "amount", "currency", "occurred_at", "attributes")


@dataclass(frozen=True)
class UpsertResult:
    """What became of one row: created, updated, unchanged, or error (with `errors` by field)."""

    index: int
    status: str
    id: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Matches:
    """The customers and accounts a batch names, read with a few queries for the whole batch."""

    by_id: dict[int, tuple[int, int | None]]  # customer id -> (id, merged_into)
    by_external: dict[str, tuple[int, int | None]]
    by_email: dict[str, tuple[int, int | None]]
    accounts_by_id: set[int]
    accounts_by_external: dict[str, int]

    def customer(self, row: OutcomeRow) -> int | None:
        """The customer a row names: Closeloop id, then external id (the customer's own, then any
        source's identity), then e-mail (the customer's, then an identity), as responses are matched;
        a merged customer is followed to the one it was merged into."""
        for found in (self.by_id.get(row.customer_id) if row.customer_id else None,
                      self.by_external.get(row.customer_external_id) if row.customer_external_id else None,
                      self.by_email.get(row.customer_email) if row.customer_email else None):
            if found is not None:
                return found[1] or found[0]
        return None


def _matches(rows: list[OutcomeRow]) -> _Matches:
    ids = {r.customer_id for r in rows if r.customer_id}
    externals = {r.customer_external_id for r in rows if r.customer_external_id}
    emails = {r.customer_email for r in rows if r.customer_email}
    by_id, by_external, by_email = {}, {}, {}
    if ids:
        by_id = {pk: (pk, m) for pk, m in Customer.objects.filter(pk__in=ids).values_list("pk", "merged_into_id")}
    if externals or emails:
        found = Customer.objects.annotate(email_lower=Lower("email")).filter(
            Q(external_id__in=externals) | Q(email_lower__in=emails))
        identities = Identity.objects.filter(
            Q(kind=Identity.Kind.EXTERNAL_ID, value__in=externals) | Q(kind=Identity.Kind.EMAIL, value__in=emails)
        ).values_list("kind", "value", "customer_id", "customer__merged_into_id")
        # An identity answers only where no customer row does (the customer's own id wins).
        for kind, value, pk, merged in identities.order_by("customer_id"):
            target = by_external if kind == Identity.Kind.EXTERNAL_ID else by_email
            target.setdefault(value, (pk, merged))
        for pk, external, email, merged in found.values_list("pk", "external_id", "email", "merged_into_id"):
            if external in externals:
                by_external[external] = (pk, merged)
            if email and email.lower() in emails:
                by_email[email.lower()] = (pk, merged)
    account_ids = {r.account_id for r in rows if r.account_id}
    account_externals = {r.account_external_id for r in rows if r.account_external_id}
    accounts_by_id = set(Account.objects.filter(pk__in=account_ids).values_list("pk", flat=True)) if account_ids else set()
    accounts_by_external = dict(Account.objects.filter(external_id__in=account_externals).values_list(
        "external_id", "pk")) if account_externals else {}
    return _Matches(by_id, by_external, by_email, accounts_by_id, accounts_by_external)


def _unmatched(row: OutcomeRow) -> dict[str, list[str]]:
    if row.customer_id:
        return {"customer": [f"No customer with id {row.customer_id}."]}
    named = [f"external id {row.customer_external_id!r}" if row.customer_external_id else "",
             f"e-mail {row.customer_email!r}" if row.customer_email else ""]
    field_name = "customer_external_id" if row.customer_external_id else "customer_email"
    return {field_name: [f"No customer matches {' or '.join(n for n in named if n)}: record the customer first (a "
                         "survey response, or an identity on the customer's page), then send the event again."]}


def outcome_events_upsert(rows: list[OutcomeRow | None]) -> list[UpsertResult]:
    """Create or update one event per row, idempotent on (source, external_id): the same row sent
    twice is `unchanged`, a changed one `updated`. Customers and accounts are matched as
    `_Matches.customer` says; a row naming one that is not there is an error and writes nothing.
    Rows that are None (invalid before they got here) are skipped, keeping the indexes aligned.

    One transaction; a few queries for the batch whatever its size: the matches, the existing
    events, one INSERT for the new ones and two for their keys (OutcomeEventKey, where the
    uniqueness lives: the events table is partitioned by month), one UPDATE per changed one and
    one for its key. A concurrent writer inserting the same key makes the key's INSERT fail: the
    batch is then read and written again."""
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _upsert(rows)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _upsert(rows: list[OutcomeRow | None]) -> list[UpsertResult]:
    valid = [(i, r) for i, r in enumerate(rows) if r is not None]
    matches = _matches([r for _i, r in valid])
    results: dict[int, UpsertResult] = {}
    first_of: dict[tuple[str, str], int] = {}
    resolved: list[tuple[int, OutcomeRow, int | None, int | None]] = []
    for index, row in valid:
        if row.key in first_of:
            results[index] = UpsertResult(index, "error", errors={"external_id": [
                f"Item {first_of[row.key]} has the same source and external_id: send each event once per request."]})
            continue
        first_of[row.key] = index
        errors: dict[str, list[str]] = {}
        customer_id = matches.customer(row) if row.names_customer else None
        if row.names_customer and customer_id is None:
            errors.update(_unmatched(row))
        account_id = None
        if row.account_id:
            account_id = row.account_id if row.account_id in matches.accounts_by_id else None
            if account_id is None:
                errors["account"] = [f"No account with id {row.account_id}."]
        elif row.account_external_id:
            account_id = matches.accounts_by_external.get(row.account_external_id)
            if account_id is None:
                errors["account_external_id"] = [f"No account with external id {row.account_external_id!r}."]
        if errors:
            results[index] = UpsertResult(index, "error", errors=errors)
            continue
        resolved.append((index, row, customer_id, account_id))
    existing = _existing([row.key for _i, row, _c, _a in resolved])
    new, changed = [], []
    for index, row, customer_id, account_id in resolved:
        values = {"customer_id": customer_id, "account_id": account_id, "kind": row.kind, "amount": row.amount,
                  "currency": row.currency, "occurred_at": row.occurred_at, "attributes": row.attributes}
        event = existing.get(row.key)
        if event is None:
            new.append((index, OutcomeEvent(source=row.source, external_id=row.external_id, **values)))
        elif any(getattr(event, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(event, name, value)
            changed.append((index, event))
        else:
            results[index] = UpsertResult(index, "unchanged", event.pk)
    if new:
        OutcomeEvent.objects.bulk_create([event for _i, event in new])
        if any(event.pk is None for _i, event in new):  # SQLite before RETURNING: read the ids back
            ids = _existing([(e.source, e.external_id) for _i, e in new])
            for _i, event in new:
                event.pk = ids[(event.source, event.external_id)].pk
        _keys_claim([event for _i, event in new])
        results.update({i: UpsertResult(i, "created", e.pk) for i, e in new})
    for index, event in changed:
        event.save(update_fields=[name.removesuffix("_id") if name.endswith("_id") else name
                                  for name in UPDATED_FIELDS] + ["updated_at"])
        OutcomeEventKey.objects.filter(event_id=event.pk).exclude(occurred_at=event.occurred_at).update(
            occurred_at=event.occurred_at)
        results[index] = UpsertResult(index, "updated", event.pk)
    return [results[i] for i in sorted(results)]


def _keys_claim(events: list[OutcomeEvent]) -> None:
    """The new events' idempotency keys (OutcomeEventKey: unique, unlike the partitioned events
    table). A key whose event is gone (erased, dropped past retention) passes to the new event; a
    key another transaction holds makes the INSERT fail with IntegrityError, and the caller reads
    the batch again, as it did when the uniqueness lived on the events."""
    by_source: dict[str, list[str]] = {}
    for event in events:
        by_source.setdefault(event.source, []).append(event.external_id)
    # One IN list per source (as _existing reads them), not an OR per key: a batch of thousands of
    # keys would be an expression too deep for SQLite (`make run`'s demo loads 1,700 at once).
    wanted = Q()
    for source, external_ids in by_source.items():
        wanted |= Q(source=source, external_id__in=external_ids)
    OutcomeEventKey.objects.filter(wanted).filter(~Exists(OutcomeEvent.objects.filter(pk=OuterRef("event_id")))).delete()
    OutcomeEventKey.objects.bulk_create([
        OutcomeEventKey(source=e.source, external_id=e.external_id, event_id=e.pk, occurred_at=e.occurred_at)
        for e in events])


def _existing(keys: list[tuple[str, str]]) -> dict[tuple[str, str], OutcomeEvent]:
    if not keys:
        return {}
    wanted = Q()
    by_source: dict[str, list[str]] = {}
    for source, external_id in keys:
        by_source.setdefault(source, []).append(external_id)
    for source, external_ids in by_source.items():
        wanted |= Q(source=source, external_id__in=external_ids)
    return {(e.source, e.external_id): e for e in OutcomeEvent.objects.filter(wanted)}


def outcome_events_move(*, merged_id: int, target_id: int) -> list[int]:
    """On a customer merge (customers.services.customer_merge): the merged customer's outcome events
    become the target's, so the results and impact reports count them for the person. Their ids."""
    ids = list(OutcomeEvent.objects.filter(customer_id=merged_id).values_list("pk", flat=True))
    OutcomeEvent.objects.filter(pk__in=ids).update(customer_id=target_id)
    return ids


def outcome_events_move_back(*, ids: list[int], target_id: int, merged_id: int) -> None:
    """On the merge's undo: the events it moved that still name the target go back."""
    OutcomeEvent.objects.filter(pk__in=ids, customer_id=target_id).update(customer_id=merged_id)
