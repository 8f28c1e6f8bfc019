from django.core.management.base import CommandError

from core.ids import parse_id
from surveys.models import Customer


def find_customer(ref: str) -> Customer:
    """By id, then external id, then e-mail (case-insensitive)."""
    query = Customer.objects.filter(external_id=ref) | Customer.objects.filter(email__iexact=ref)
    if pk := parse_id(ref):
        query = query | Customer.objects.filter(pk=pk)
    matches = list(query[:2])
    if len(matches) != 1:
        raise CommandError(f"No single customer matches {ref!r} ({len(matches)} found).")
    return matches[0]
