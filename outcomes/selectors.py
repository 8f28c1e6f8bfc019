"""Reading outcome events: the ones a user may see (those of a customer or an account they may
see, by the customers' visibility rule)."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connections, router, transaction
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


# PostgreSQL may check the visibility above (an EXISTS inside an OR) either per event, probing the
# customer's responses and cases by the customer index, or by hashing every response and case of
# the user's teams first. With the newest-first order and a page of 50, it reads a few hundred
# events, so the probes cost milliseconds; but it plans for the whole table and hashes, once per
# monthly partition: at 10,000,000 responses, a million responses and 100,000 cases per request
# (2 s). A hashed subplan is only chosen when its table fits in work_mem, so a page is read with
# a small one.
PAGE_WORK_MEM = "64kB"


@contextmanager
def probing_visibility():
    """Read a page of outcome_events_for_user with the visibility probed per event (PostgreSQL)."""
    alias = router.db_for_read(OutcomeEvent)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=alias):
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{PAGE_WORK_MEM}'")
        yield
