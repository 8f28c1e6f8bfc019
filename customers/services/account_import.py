"""Accounts and contacts from a CRM (imports: a CSV file, POST /api/v1/accounts/bulk/ and
/api/v1/contacts/bulk/), upserted in bulk by external id.

Accounts: a row names its account by external id; name, owner (a user's e-mail), value and
renewal date replace what is there (an empty cell changes nothing); the parent is named by its
external id and must exist already or come in the same batch. A row that would put an account
under itself or one of its own children is refused, as account_set_parent refuses it.

Contacts: a row names the account by external id and the customer by external id or e-mail (a
merged customer is followed to the one it was merged into); the role replaces the contact's (a
new contact without one is a user). The customer and the account must exist: import them first."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Account, Contact, ContactRole
from imports.registry import CREATED, UNCHANGED, UPDATED, BatchOutcome, Row
from surveys.models import Customer

ACCOUNT_FIELDS = {"name": "name", "value": "value", "renewal_date": "renewal_date"}


def _owners(rows: list[Row]) -> dict[str, int]:
    emails = {r.get("owner_email").lower() for r in rows if r.get("owner_email")}
    if not emails:
        return {}
    users = get_user_model().objects.annotate(email_ci=Lower("email")).filter(email_ci__in=emails, is_active=True)
    return {email: pk for pk, email in users.order_by("-pk").values_list("pk", "email_ci")}


class _Tree:
    """Who sits under whom, by pk for stored accounts and by ("new", external id) for the batch's."""

    def __init__(self):
        self.parent_of: dict = {}

    def parent(self, node):
        if isinstance(node, int) and node not in self.parent_of:
            self.parent_of[node] = Account.objects.filter(pk=node).values_list("parent_id", flat=True).first()
        return self.parent_of.get(node)

    def would_loop(self, node, parent) -> bool:
        seen = set()
        while parent is not None and parent not in seen:
            if parent == node:
                return True
            seen.add(parent)
            parent = self.parent(parent)
        return False


def accounts_upsert(rows: list[Row]) -> BatchOutcome:
    """The accounts importer's write (see the module): one outcome per row."""
    outcome = BatchOutcome()
    ids = {r.get("external_id") for r in rows}
    ids |= {r.get("parent_external_id") for r in rows if r.get("parent_external_id")}
    by_id = {a.external_id: a for a in Account.objects.filter(external_id__in=ids)}
    owners = _owners(rows)
    in_batch = {r.get("external_id") for r in rows}
    tree = _Tree()
    for account in by_id.values():
        tree.parent_of[account.pk] = account.parent_id

    def node(external_id: str):
        account = by_id.get(external_id)
        return account.pk if account is not None and account.pk else ("new", external_id)

    new, changed, parents, done = [], {}, [], []
    for row in rows:
        external_id = row.get("external_id")
        account = by_id.get(external_id)
        owner_email, parent_id = row.get("owner_email"), row.get("parent_external_id")
        if owner_email and owner_email.lower() not in owners:
            outcome.fail(row, "owner_email", _("No active user has the e-mail %(email)s: invite them first, or leave "
                                               "the cell empty.") % {"email": owner_email})
            continue
        if account is None and not row.get("name"):
            outcome.fail(row, "name", _("A new account needs a name."))
            continue
        if parent_id and parent_id not in by_id and parent_id not in in_batch:
            outcome.fail(row, "parent_external_id", _(
                "No account has the external id %(id)s: import the parent first, or in the same file before this "
                "row.") % {"id": parent_id})
            continue
        if parent_id and tree.would_loop(node(external_id), node(parent_id)):
            outcome.fail(row, "parent_external_id", _("An account cannot sit under itself or one of its own "
                                                      "children."))
            continue
        if parent_id:
            tree.parent_of[node(external_id)] = node(parent_id)
        fields = set()
        if account is None:
            account = Account(external_id=external_id)
            by_id[external_id] = account
            new.append(account)
        for column, name in ACCOUNT_FIELDS.items():
            value = row.get(column)
            if value is not None and getattr(account, name) != value:
                setattr(account, name, value.strip() if isinstance(value, str) else value)
                fields.add(name)
        if owner_email and account.owner_id != owners[owner_email.lower()]:
            account.owner_id = owners[owner_email.lower()]
            fields.add("owner")
        if parent_id:
            parents.append((account, parent_id))
        if account.pk is not None:
            changed.setdefault(account.pk, (account, set()))[1].update(fields)
        done.append((row, account, CREATED if account in new else UPDATED if fields else UNCHANGED))
    if new:
        Account.objects.bulk_create(new)
    for account, parent_id in parents:
        parent_pk = by_id[parent_id].pk
        if account.parent_id != parent_pk:
            account.parent_id = parent_pk
            if account not in new:
                changed[account.pk][1].add("parent")
    if moved := [a for a in new if a.parent_id is not None]:
        Account.objects.bulk_update(moved, ["parent"])
    dirty = [(a, f) for a, f in changed.values() if f]
    if dirty:
        now = timezone.now()
        for account, _fields in dirty:
            account.updated_at = now
        fields = sorted(set().union(*(f for _a, f in dirty)) | {"updated_at"})
        Account.objects.bulk_update([a for a, _f in dirty], fields)
    dirty_pks = {a.pk for a, _f in dirty}
    for row, account, result in done:
        if result == UNCHANGED and account.pk in dirty_pks:
            result = UPDATED  # its parent moved
        outcome.done(row, result, account.pk)
    return outcome


def _customers(rows: list[Row]) -> tuple[dict[str, Customer], dict[str, Customer]]:
    ids = {r.get("customer_external_id") for r in rows if r.get("customer_external_id")}
    emails = {r.get("customer_email").lower() for r in rows if r.get("customer_email")}
    by_id, by_email = {}, {}
    if ids:
        by_id = {c.external_id: c for c in Customer.objects.select_related("merged_into").filter(external_id__in=ids)}
    if emails:
        by_email = {c.email_ci: c for c in Customer.objects.select_related("merged_into")
                    .annotate(email_ci=Lower("email")).filter(email_ci__in=emails)}
    return by_id, by_email


def contacts_upsert(rows: list[Row]) -> BatchOutcome:
    """The contacts importer's write (see the module): one outcome per row."""
    outcome = BatchOutcome()
    accounts = {a.external_id: a.pk for a in Account.objects.filter(
        external_id__in={r.get("account_external_id") for r in rows})}
    by_id, by_email = _customers(rows)
    found = []
    for row in rows:
        account_id = accounts.get(row.get("account_external_id"))
        if account_id is None:
            outcome.fail(row, "account_external_id", _("No account has the external id %(id)s: import accounts "
                                                       "first.") % {"id": row.get("account_external_id")})
            continue
        external_id, email = row.get("customer_external_id"), row.get("customer_email")
        customer = by_id.get(external_id) if external_id else None
        if customer is None and email:
            customer = by_email.get(email.lower())
        if customer is None:
            column, value = ("customer_external_id", external_id) if external_id else ("customer_email", email)
            outcome.fail(row, column, _("No customer is known by %(value)s: import customers first.")
                         % {"value": value})
            continue
        found.append((row, account_id, (customer.merged_into or customer).pk))
    existing = {(c.account_id, c.customer_id): c for c in Contact.objects.filter(
        account_id__in={a for _r, a, _c in found}, customer_id__in={c for _r, _a, c in found})}
    new, dirty, done = {}, {}, []
    for row, account_id, customer_id in found:
        role = row.get("role")
        contact = existing.get((account_id, customer_id)) or new.get((account_id, customer_id))
        if contact is None:
            contact = new[(account_id, customer_id)] = Contact(account_id=account_id, customer_id=customer_id,
                                                               role=role or ContactRole.USER)
            done.append((row, contact, CREATED))
        elif role and contact.role != role:
            contact.role = role
            if contact.pk is not None:
                dirty[contact.pk] = contact
            done.append((row, contact, UPDATED))
        else:
            done.append((row, contact, UNCHANGED))
    if new:
        Contact.objects.bulk_create(list(new.values()))
    if dirty:
        Contact.objects.bulk_update(list(dirty.values()), ["role"])
    for row, contact, result in done:
        outcome.done(row, result, contact.pk)
    return outcome
