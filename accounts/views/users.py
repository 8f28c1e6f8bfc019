"""The users pages for CX admins (/settings/users/): list, invite, change a role, deactivate,
reactivate, resend an invitation. Every write goes through accounts.services.users; its
refusals are shown beside the field (role) or as an error message (the buttons)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.forms import InviteForm, RoleForm
from accounts.models import User
from accounts.permissions import admin_required
from accounts.services import users as services
from accounts.two_factor.services import status as two_factor_status
from accounts.two_factor.services import users_with_authenticator

STATUS_LABELS = {"active": gettext_lazy("Active"), "invited": gettext_lazy("Invited"), "deactivated": gettext_lazy("Deactivated")}


def _row(user: User) -> dict:
    status = services.user_status(user)
    return {"user": user, "status": status, "status_label": STATUS_LABELS[status]}


def _invitation_message(request: HttpRequest, result: services.InvitationResult, *, again: bool = False) -> None:
    user = result.user
    if result.sent:
        values = {"user": user.display_name, "email": user.email}
        if again:
            messages.success(request, _("Sent a new invitation %(user)s: an e-mail with a link to choose a "
                                        "password went to %(email)s.") % values)
        else:
            messages.success(request, _("Invited %(user)s: an e-mail with a link to choose a password went to "
                                        "%(email)s.") % values)
    else:
        messages.error(request, _("%(user)s is added, but the invitation e-mail to %(email)s could not be sent "
                                  "(%(error)s). Use “Resend invitation” once mail works.") % {
            "user": user.display_name, "email": user.email, "error": result.error})


def _refusal(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@admin_required
def user_list(request: HttpRequest) -> HttpResponse:
    enrolled = users_with_authenticator()
    rows = [{**_row(user), "two_factor": user.pk in enrolled} for user in services.user_list()]
    return render(request, "accounts/user_list.html", {"rows": rows})


@admin_required
def user_invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = services.user_invite(by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                _invitation_message(request, result)
                return redirect(reverse("accounts:users") + f"#user-{result.user.pk}")
        status = 422
    return render(request, "accounts/user_invite.html", {"form": form}, status=status)


@admin_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    form = RoleForm(request.POST or None, initial={"role": user.role})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.user_update(by=request.user, user_id=user.pk, role=form.cleaned_data["role"])
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error("role" if field == "role" else None, error)
            else:
                user.refresh_from_db()
                messages.success(request, _("%(user)s is now a %(role)s.") % {"user": user.display_name, "role": user.get_role_display()})
                return redirect("accounts:user_edit", pk=user.pk)
        status = 422
    row = _row(user)
    context = {"form": form, "user_obj": user, "status": row["status"], "status_label": row["status_label"],
               "two_factor": two_factor_status(user)}
    return render(request, "accounts/user_edit.html", context, status=status)


def _set_active(request: HttpRequest, pk: int, active: bool) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    try:
        services.user_update(by=request.user, user_id=user.pk, is_active=active)
    except ValidationError as exc:
        messages.error(request, _refusal(exc))
    else:
        if active:
            messages.success(request, _("%(user)s is active again and can sign in.") % {"user": user.display_name})
        else:
            messages.success(request, _("%(user)s is deactivated: they can no longer sign in or use the API. "
                                        "Their cases and history stay.") % {"user": user.display_name})
    return redirect("accounts:user_edit", pk=user.pk)


@admin_required
@require_POST
def user_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_active(request, pk, False)


@admin_required
@require_POST
def user_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_active(request, pk, True)


@admin_required
@require_POST
def user_resend_invitation(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    try:
        result = services.invitation_resend(by=request.user, user_id=user.pk)
    except ValidationError as exc:
        messages.error(request, _refusal(exc))
    else:
        _invitation_message(request, result, again=True)
    return redirect("accounts:user_edit", pk=user.pk)
