"""What customers registers on the import machinery (imports.registry): customers, accounts and
contacts, from a CSV file or the bulk API (docs/imports.md lists the columns)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from customers.models import ContactRole
from customers.services.account_import import accounts_upsert, contacts_upsert
from customers.services.customer_import import customers_upsert
from imports.registry import Column, Importer, register

CUSTOMERS = Importer(
    kind="customers", label=_("Customers"), upsert=customers_upsert, extra_columns=True,
    natural_key=(("external_id", "email", "phone"),),
    columns=(
        Column("external_id", aliases=("customer_id", "id", "crm_id", "customer_external_id")),
        Column("email", Column.EMAIL, aliases=("e-mail", "email_address", "mail")),
        Column("name", aliases=("full_name", "customer_name", "contact_name")),
        Column("phone", Column.PHONE, aliases=("phone_number", "mobile", "telephone", "tel")),
        Column("tier", max_length=60),
        Column("segment", max_length=60),
        Column("value", Column.DECIMAL, aliases=("account_value", "customer_value", "ltv")),
        Column("language", Column.LANGUAGE, aliases=("lang", "locale")),
    ),
    help=_("One customer per row, found by external id, else e-mail, else phone, as deliveries are. Any other "
           "column is kept as an attribute of the customer."),
)

ACCOUNTS = Importer(
    kind="accounts", label=_("Accounts"), upsert=accounts_upsert,
    natural_key=(("external_id",),),
    columns=(
        Column("external_id", required=True, aliases=("account_id", "id", "crm_id", "account_external_id")),
        Column("name", max_length=200, aliases=("account_name", "company", "company_name")),
        Column("parent_external_id", aliases=("parent_id", "parent", "parent_account_id")),
        Column("owner_email", Column.EMAIL, aliases=("owner", "account_owner", "kam_email")),
        Column("value", Column.DECIMAL, aliases=("account_value", "arr", "annual_value")),
        Column("renewal_date", Column.DATE, aliases=("renewal", "renews_on", "contract_end")),
    ),
    help=_("One account per row, found by its external id. A parent must exist already or come earlier in the "
           "file; the owner is a user's e-mail."),
)

CONTACTS = Importer(
    kind="contacts", label=_("Contacts"), upsert=contacts_upsert,
    natural_key=(("account_external_id",), ("customer_external_id", "customer_email")),
    columns=(
        Column("account_external_id", required=True, aliases=("account_id", "account")),
        Column("customer_external_id", aliases=("customer_id", "contact_id", "external_id")),
        Column("customer_email", Column.EMAIL, aliases=("email", "contact_email", "e-mail")),
        Column("role", Column.CHOICE, choices=tuple(ContactRole.values), aliases=("contact_role",),
               choice_aliases={"decision maker": ContactRole.DECISION_MAKER, "dm": ContactRole.DECISION_MAKER,
                               "champion": ContactRole.INFLUENCER, "end user": ContactRole.USER}),
    ),
    help=_("One contact per row: the account's external id, the customer's external id or e-mail, and a role "
           "(decision_maker, influencer, user, other)."),
)


def register_importers() -> None:
    for importer in (CUSTOMERS, ACCOUNTS, CONTACTS):
        register(importer)
