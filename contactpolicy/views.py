"""The contact policy's settings page (CX admins change it; managers read it and try an address)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.permissions import manager_required
from contactpolicy import services
from contactpolicy.forms import CheckForm, PolicyForm
from contactpolicy.models import ContactPolicy


@manager_required
def policy_settings(request):
    can_edit = request.user.is_admin_role
    current = ContactPolicy.load()
    form = PolicyForm(request.POST if request.method == "POST" and "save" in request.POST else None, instance=current)
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and "save" in request.POST:
        if not can_edit:
            messages.error(request, _("Only CX admins may change the contact policy."))
            return redirect("contactpolicy:settings")
        if form.is_valid():
            try:
                services.policy_update(by=request.user, **{name: form.cleaned_data[name] for name in form.fields})
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, _("Saved. Survey tools asking the policy get the new answer within a "
                                            "few seconds."))
                return redirect("contactpolicy:settings")
    check = CheckForm(request.GET if "email" in request.GET else None)
    decision = None
    if check.is_bound and check.is_valid():
        decision = services.contact_decision(services.Asked(email=check.cleaned_data["email"]))
    status = 422 if form.errors or check.errors else 200
    return render(request, "contactpolicy/settings.html",
                  {"form": form, "can_edit": can_edit, "check": check, "decision": decision}, status=status)
