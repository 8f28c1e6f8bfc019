"""Settings → Account rules (CX admins): the list with each rule's open cases, the editor, and
switching a rule on and off. Saving goes through customers.services.account_rule_save, as the API
does; every change is in the audit trail."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import admin_required
from customers import services
from customers.forms import AccountRuleForm
from customers.models import AccountRule


@admin_required
def account_rule_list(request: HttpRequest) -> HttpResponse:
    rules = (AccountRule.objects.select_related("team").order_by("name", "id")
             .annotate(open_cases=Count("account_cases", filter=~Q(account_cases__case__status="closed")),
                       cases=Count("account_cases")))
    return render(request, "customers/account_rule_list.html", {"rules": rules})


@admin_required
def account_rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rule = get_object_or_404(AccountRule, pk=pk) if pk else None
    form = AccountRuleForm(request.POST or None, instance=rule)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = services.account_rule_save(form.instance)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Saved “%(rule)s”.") % {"rule": saved.name})
                return redirect("account_rules:list")
        status = 422
    return render(request, "customers/account_rule_form.html", {
        "form": form, "rule": rule, "not_saved": status == 422,
        "title": _("Account rule “%(rule)s”") % {"rule": rule.name} if rule else _("New account rule"),
    }, status=status)


@admin_required
@require_POST
def account_rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AccountRule, pk=pk)
    rule.active = not rule.active
    services.account_rule_save(rule)
    messages.success(request, (_("“%(rule)s” is on.") if rule.active else _("“%(rule)s” is off.")) % {"rule": rule.name})
    return redirect("account_rules:list")
