"""Identities: every identifier a delivery named for a customer, kept per customer.

The rules recording follows to find the customer (surveys.services.customers) come first; what
is kept here is what each delivery said, so a customer known under several e-mails, phones or
ids per source shows them all, and two customers that share one are listed for review
(customers.selectors.suspected_duplicates). MATCHING_RULES and DUPLICATE_RULES are what the
identity settings page and docs/customers.md show an admin."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from core import unit_of_work
from core.phones import to_e164
from core.unit_of_work import UnitOfWork, insert_all
from customers.models import Identity
from surveys.normalized import CustomerIdentity

E164 = re.compile(r"\+[1-9]\d{5,14}")

# How a delivery is matched to a customer when it is recorded, in order (the first that finds
# someone wins). surveys.services.customers applies them; this is their description.
MATCHING_RULES = [
    (_("External id"), _("The delivery's customer id (external_id) equals a customer's: that customer.")),
    (_("E-mail"), _("Else the e-mail equals a customer's, ignoring case, unless both carry different external "
                    "ids (then they are two people sharing an address: a new customer, listed as a suspected "
                    "duplicate).")),
    (_("Phone"), _("Else, for a delivery with neither an id nor an e-mail, the phone number in E.164 equals that "
                   "of a customer who has neither.")),
    (_("Merged"), _("A customer a person merged into another is followed to that one: the new response is "
                    "recorded for the customer it was merged into.")),
    (_("New"), _("Otherwise a new customer is created.")),
]

# What makes two customers suspected duplicates (listed for review, never merged by themselves).
DUPLICATE_RULES = [
    (_("Same phone"), _("Two customers have the same phone number in E.164.")),
    (_("Same e-mail"), _("Two customers were named by the same e-mail address (ignoring case), e.g. with "
                         "different external ids.")),
]


class BatchIdentities:
    """The identities a batch (core.unit_of_work) has queued already, so each is inserted once."""

    def __init__(self, batch: UnitOfWork):
        self.seen: set[tuple] = set()


def identity_keys(*, customer_id: int, source_id: int | None, identity: CustomerIdentity) -> list[tuple]:
    """(customer, kind, source, value) for each identifier in `identity`: an external id with its
    source, an e-mail in lower case, a phone in E.164 (a number that does not read as one is not
    an identity)."""
    keys = []
    if identity.external_id:
        keys.append((customer_id, Identity.Kind.EXTERNAL_ID, source_id, identity.external_id[:255]))
    email = (identity.email or "").strip().lower()
    if email:
        keys.append((customer_id, Identity.Kind.EMAIL, None, email[:255]))
    # Processing put the phone in E.164 already (no second parse); a caller that records directly
    # (the demo, a test) may not have.
    phone = identity.phone if not identity.phone or E164.fullmatch(identity.phone) else to_e164(identity.phone)
    if phone:
        keys.append((customer_id, Identity.Kind.PHONE, None, phone))
    return keys


def identities_record(*, customer_id: int, source_id: int | None, identity: CustomerIdentity) -> None:
    """Keep the identifiers a recorded response named (known ones are skipped by the database:
    ON CONFLICT DO NOTHING). Inside a batch they wait for its one INSERT."""
    keys = identity_keys(customer_id=customer_id, source_id=source_id, identity=identity)
    batch = unit_of_work.current()
    if batch is not None:
        seen = batch.state(BatchIdentities).seen
        keys = [key for key in keys if key not in seen]
        seen.update(keys)
    if keys:
        insert_all([Identity(customer_id=c, kind=k, source_id=s, value=v) for c, k, s, v in keys],
                    ignore_conflicts=True)


def identities_erase(*, customer_id: int) -> int:
    """A personal-data erasure (privacy): the customer's identities go (they are e-mails and
    phone numbers). Returns how many."""
    deleted, _by_model = Identity.objects.filter(customer_id=customer_id).delete()
    return deleted
