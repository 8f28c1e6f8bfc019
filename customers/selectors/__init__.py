"""Reads for the customer and account pages and the API, scoped by the one visibility rule.

    visibility.py     which customers and accounts a user may see
    customer_page.py  the customer page: identities, timeline, trends, consent, accounts
    account_page.py   the account page: NPS per respondent and weighted by role, coverage, ...
    trends.py         monthly score trends and their small inline line
    duplicates.py     suspected duplicates for review
"""

from customers.selectors.account_page import AccountPage, account_page, account_tree_ids, account_visible_to
from customers.selectors.customer_page import TIMELINE_LIMIT, CustomerPage, customer_page
from customers.selectors.duplicates import Suspect, suspected_duplicates
from customers.selectors.visibility import (
    account_visible,
    accounts_for_user,
    customer_visible,
    customers_for_user,
    visible_cases,
    visible_responses,
)

__all__ = [
    "TIMELINE_LIMIT", "AccountPage", "CustomerPage", "Suspect", "account_page", "account_tree_ids", "account_visible_to",
    "account_visible", "accounts_for_user", "customer_page", "customer_visible", "customers_for_user",
    "suspected_duplicates", "visible_cases", "visible_responses",
]
