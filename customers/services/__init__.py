"""Every write customers makes (pages, API, demo and admin call these).

    identities.py  identities kept from recorded responses; the matching and duplicate rules
    merging.py     customer_merge, customer_unmerge, merge_mover_register
    consent.py     customer_consent_set
    accounts.py    account_create, account_set_parent, contact_set
    account_rules.py  account_rule_save; account cases opened by rules (on an answer, hourly sweep)
"""

from customers.services.account_rules import (
    account_case_open,
    account_rule_save,
    account_rules_on_answers,
    account_rules_sweep,
)
from customers.services.accounts import account_create, account_set_parent, contact_set
from customers.services.consent import ANY, CHANNELS, customer_consent_set
from customers.services.identities import (
    DUPLICATE_RULES,
    MATCHING_RULES,
    identities_erase,
    identities_record,
    identity_keys,
)
from customers.services.merging import customer_merge, customer_unmerge, merge_mover_register

__all__ = [
    "ANY", "CHANNELS", "DUPLICATE_RULES", "MATCHING_RULES",
    "account_case_open", "account_rule_save", "account_rules_on_answers", "account_rules_sweep",
    "account_create", "account_set_parent", "contact_set", "customer_consent_set", "customer_merge",
    "customer_unmerge", "identities_erase", "identities_record", "identity_keys", "merge_mover_register",
]
