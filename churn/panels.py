"""The churn-risk panel of the customer and account pages (registered in core.panels)."""

from __future__ import annotations

from django.template.loader import render_to_string

from churn import selectors
from core.panels import register_page_panel


def customer_panel(request, customer) -> str:
    overview = selectors.churn_overview()
    risk = selectors.customer_risk(customer.pk) if overview.model else None
    return render_to_string(
        "churn/_risk_panel.html",
        {"overview": overview, "risk": risk, "account": None},
        request=request,
    )


def account_panel(request, account) -> str:
    overview = selectors.churn_overview(selectors.ACCOUNT)
    risk = selectors.account_risk(account.pk) if overview.model else None
    return render_to_string(
        "churn/_risk_panel.html",
        {"overview": overview, "risk": risk, "account": account},
        request=request,
    )


def register() -> None:
    register_page_panel("customer", "churn", customer_panel)
    register_page_panel("account", "churn", account_panel)
