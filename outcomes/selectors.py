"""Reading outcome events: the ones a user may see (those of a customer or an account they may
see, by the customers' visibility rule)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.selectors import visible_team_ids
from customers.models import Contact
from customers.selectors.visibility import customer_seen_q
from outcomes.models import OutcomeEvent


def outcome_events_for_user(user) -> QuerySet[OutcomeEvent]:
    """Events of customers the user may see, or of accounts they may see (owned by them, or with a
    contact they may see); admins see every event."""
    queryset = OutcomeEvent.objects.all()
    ids = visible_team_ids(user)
    if ids is None:
        return queryset
    seen_contact = Contact.objects.filter(account_id=OuterRef("account_id")).filter(customer_seen_q(ids, "customer_id"))
    return queryset.filter(
        Q(customer_id__isnull=False) & customer_seen_q(ids, "customer_id")
        | Q(account_id__isnull=False) & (Q(account__owner_id=user.pk) | Q(Exists(seen_contact)))
    )
