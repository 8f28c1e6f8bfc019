"""Customer and account pages (docs/customers.md)."""

from customers.views.accounts import account_detail, account_list
from customers.views.customers import consent_edit, customer_detail, customer_list
from customers.views.identity import identity_settings, merge, merge_undo

__all__ = ["account_detail", "account_list", "consent_edit", "customer_detail", "customer_list", "identity_settings",
           "merge", "merge_undo"]
