"""What customers lends to the case page (core.panels): the account an account rule opened the
case for, with a link. A case opened from an alert has no account case: no query for it."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from core.panels import register_page_panel


def case_account_panel(request, case) -> str:
    from customers.models import AccountCase

    if case.alert_id is not None:
        return ""
    row = AccountCase.objects.select_related("account", "rule").filter(case_id=case.pk).first()
    if row is None:
        return ""
    return format_html(
        '<p class="account-line" id="case-account">{} <a href="{}">{}</a> <span class="muted">{}</span></p>',
        _("Account:"), reverse("customers:account_detail", args=[row.account_id]), row.account.name,
        _("(opened by account rule “%(rule)s”)") % {"rule": row.rule.name})


def register() -> None:
    register_page_panel("case", "account", case_account_panel)
