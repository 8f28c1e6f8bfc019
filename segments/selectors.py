"""Reading segments: lists with member counts (one query for all of them), a segment's members,
the preview count of a draft, and the compiled predicates alert rules and routing evaluate.

    segment_list() -> QuerySet[Segment]
    member_counts(segments) -> {segment_id: count}
    segment_members(segment) -> QuerySet[Customer]
    preview_count(conditions, match) -> int
    compiled(segment) -> CompiledSegment
    customers_in_q(segments, field="customer_id") -> Q
    segments_of(customer) -> list[Segment]
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Q

from segments.conditions import (
    CompiledSegment,
    CustomerFacts,
    account_values_of,
    compile_segment,
    members,
    segment_q,
)
from segments.models import Segment
from surveys.models import Customer


def segment_list():
    return Segment.objects.order_by("name", "id")


def member_counts(segments: Iterable[Segment]) -> dict[int, int]:
    """How many customers (not merged into another) each segment holds, in one query."""
    segments = list(segments)
    if not segments:
        return {}
    counts = Customer.objects.filter(merged_into__isnull=True).aggregate(**{
        f"s{segment.pk}": Count("pk", filter=segment_q(segment.conditions, segment.match)) for segment in segments
    })
    return {segment.pk: counts[f"s{segment.pk}"] for segment in segments}


def segment_members(segment: Segment):
    return members(segment.conditions, segment.match)


def preview_count(conditions: list[dict], match: str) -> int:
    return members(conditions, match).count()


def compiled(segment: Segment) -> CompiledSegment:
    return compile_segment(conditions=segment.conditions, match=segment.match, id=segment.pk, name=segment.name)


def customers_in_q(segments: Iterable[Segment], *, field: str = "customer_id") -> Q:
    """A Q over any model with a customer reference: its customer is in any of these segments,
    as an IN subquery over customers (no query of its own; no segments: matches nothing)."""
    q = None
    for segment in segments:
        part = segment_q(segment.conditions, segment.match)
        q = part if q is None else q | part
    if q is None:
        return Q(pk__in=[])
    return Q(**{f"{field}__in": Customer.objects.filter(q).values("pk")})


def segments_of(customer: Customer) -> list[Segment]:
    """The segments `customer` is in, by name: each segment's compiled predicate (the one alert
    rules and routing evaluate) over the customer's facts. One query for the segments, one more
    for the customer's accounts when a segment reads their value."""
    tests = [(segment, compiled(segment)) for segment in segment_list()]
    accounts = account_values_of(customer.pk) if any(test.needs_accounts for _s, test in tests) else ()
    facts = CustomerFacts.of(customer, accounts)
    return [segment for segment, test in tests if test.matches(facts)]
