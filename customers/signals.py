"""What customers announces, for an audit trail (or anything else) to record. Each carries one
frozen dataclass; receivers run inside the transaction that made the change.

    customer_merged.send(sender=CustomerMerge, change=MergeChange(...))
    customer_unmerged.send(sender=CustomerMerge, change=MergeChange(...))
    customer_consent_changed.send(sender=ConsentChange, change=ConsentChanged(...))
"""

from __future__ import annotations

from dataclasses import dataclass

from django.dispatch import Signal

customer_merged = Signal()
customer_unmerged = Signal()
customer_consent_changed = Signal()


@dataclass(frozen=True, slots=True)
class MergeChange:
    """A merge or its undo: who, which merge record, which customers, and what moved (ids per
    kind: responses, cases, verifications, identities, contacts, repointed customers)."""

    merge_id: int
    target_id: int
    merged_id: int
    by_id: int | None
    reason: str
    moved: dict


@dataclass(frozen=True, slots=True)
class ConsentChanged:
    customer_id: int
    channel: str
    from_value: str
    to_value: str
    via: str
    by_id: int | None
