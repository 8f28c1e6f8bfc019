"""Suspected duplicates: customers who share an e-mail or a phone (customers.services.identities
DUPLICATE_RULES), for an admin to review and merge. Read from Identity's (kind, value) index in
two queries; merged customers are left out (they are one already)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from customers.models import Identity
from surveys.models import Customer

SUSPECTS_SHOWN = 100


@dataclass(frozen=True)
class Suspect:
    kind: str
    kind_label: str
    value: str
    customers: list[Customer]


def suspected_duplicates(*, limit: int = SUSPECTS_SHOWN) -> list[Suspect]:
    shared = list(
        Identity.objects.filter(kind__in=[Identity.Kind.EMAIL, Identity.Kind.PHONE], customer__merged_into__isnull=True)
        .values("kind", "value").annotate(n=Count("customer", distinct=True)).filter(n__gt=1)
        .order_by("kind", "value")[:limit])
    if not shared:
        return []
    wanted = {(row["kind"], row["value"]) for row in shared}
    found: dict[tuple[str, str], dict[int, Customer]] = {key: {} for key in wanted}
    for identity in (Identity.objects.filter(value__in={v for _k, v in wanted}, customer__merged_into__isnull=True)
                     .select_related("customer").order_by("customer_id")):
        key = (identity.kind, identity.value)
        if key in found:
            found[key][identity.customer_id] = identity.customer
    labels = dict(Identity.Kind.choices)
    return [Suspect(kind, str(labels[kind]), value, list(found[(kind, value)].values()))
            for kind, value in sorted(wanted)]
