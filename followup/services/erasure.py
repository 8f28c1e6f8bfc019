"""What the follow-up app erases of a customer, for privacy.customer_erase."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from followup.models import Recognition, Verification


@transaction.atomic
def followup_erase_customer(*, customer_id: int) -> dict:
    """Blank what this app holds of a customer's words and address (for privacy.customer_erase):
    the e-mail and comment of their recovery checks, the quote of recognitions from their responses."""
    checks = Verification.objects.filter(customer_id=customer_id).filter(~Q(email="") | ~Q(comment="")).update(
        email="", comment="")
    quotes = Recognition.objects.filter(response__customer_id=customer_id).exclude(quote="").update(quote="")
    return {"verifications": checks, "recognitions": quotes}
