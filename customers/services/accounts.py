"""Accounts and their contacts (the admin, the demo and imports write through these)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from customers.models import Account, Contact, ContactRole


@transaction.atomic
def account_create(*, name: str, parent: Account | None = None, owner=None, value=None, renewal_date=None,
                   external_id: str | None = None) -> Account:
    if not (name or "").strip():
        raise ValidationError({"name": [_("Give the account a name.")]})
    account = Account(name=name.strip(), parent=parent, owner=owner, value=value, renewal_date=renewal_date,
                      external_id=external_id or None)
    account.full_clean()
    account.save()
    return account


def account_ancestors(account: Account) -> list[int]:
    ids, seen, current = [], {account.pk}, account.parent_id
    while current is not None and current not in seen:
        ids.append(current)
        seen.add(current)
        current = Account.objects.filter(pk=current).values_list("parent_id", flat=True).first()
    return ids


@transaction.atomic
def account_set_parent(*, account_id: int, parent_id: int | None) -> Account:
    """Move an account under another (None: top level); refuses a loop."""
    account = Account.objects.select_for_update().get(pk=account_id)
    if parent_id is not None:
        parent = Account.objects.get(pk=parent_id)
        if parent.pk == account.pk or account.pk in account_ancestors(parent):
            raise ValidationError({"parent": [_("An account cannot sit under itself or one of its own children.")]})
    account.parent_id = parent_id
    account.save(update_fields=["parent", "updated_at"])
    return account


@transaction.atomic
def contact_set(*, account_id: int, customer_id: int, role: str = ContactRole.USER) -> Contact:
    """The customer is a contact of the account with this role (added, or their role changed)."""
    if role not in ContactRole.values:
        raise ValidationError({"role": [_("Choose one of: %(roles)s.") % {"roles": ", ".join(ContactRole.values)}]})
    contact, created = Contact.objects.get_or_create(account_id=account_id, customer_id=customer_id,
                                                     defaults={"role": role})
    if not created and contact.role != role:
        contact.role = role
        contact.save(update_fields=["role"])
    return contact
