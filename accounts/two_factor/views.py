"""Pages of two-factor sign-in.

- `/login/code/` the second step of signing in (a pending sign-in only);
- `/account/two-factor/` a person's own page: set up, backup codes, remove;
- `/account/two-factor/set-up/` the QR code and key, confirmed with a first code (signed in, or
  a pending sign-in whose role requires an authenticator it does not have yet);
- `/settings/two-factor/` the per-role policy, `/settings/users/<pk>/two-factor/reset/` an
  admin's reset (CX admins).

Writes go through accounts.two_factor.services. django-axes counts every wrong code at sign-in as
a failed sign-in for the user name and the address, so wrong passwords and wrong codes share one
budget (`LOGIN_FAILURE_LIMIT`) and one lockout page."""

from __future__ import annotations

import django_otp
import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.models import Role, User
from accounts.permissions import admin_required
from accounts.two_factor import services
from accounts.two_factor.forms import CodeForm, PolicyForm
from accounts.two_factor.models import TwoFactorPolicy
from accounts.two_factor.session import (
    pending_clear, pending_get, pending_start, pending_user, sign_in_complete,
)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _form_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def _restart(request: HttpRequest) -> HttpResponse:
    messages.info(request, _("Sign in again: the sign-in waited too long for its code."))
    return redirect("login")


# --- the second step of signing in ------------------------------------------------------------

@never_cache
def sign_in_code(request: HttpRequest) -> HttpResponse:
    pending = pending_get(request)
    user = pending_user(pending) if pending else None
    if user is None:
        pending_clear(request)
        return _restart(request) if pending else redirect("login")
    needed = services.second_factor_needed(user)
    if needed == "enrol":
        return redirect("accounts:two_factor_enrol")
    if needed is None:  # reset by an admin meanwhile, and the role does not require one
        sign_in_complete(request, pending=pending, user=user)
        return redirect(pending.next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
    credentials = {"username": user.get_username()}
    if not AxesProxyHandler.is_allowed(request, credentials):
        pending_clear(request)
        return get_lockout_response(request, None, credentials)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            check = services.code_check(user=user, code=form.cleaned_data["code"])
            if check.accepted:
                sign_in_complete(request, pending=pending, user=user, device=check.device)
                if check.used_backup_code:
                    left = services.status(user).backup_codes_left
                    messages.warning(request, ngettext(
                        "You signed in with a backup code, which now no longer works: %(left)d is left. "
                        "Make new ones on your two-factor page.",
                        "You signed in with a backup code, which now no longer works: %(left)d are left. "
                        "Make new ones on your two-factor page when you run low.", left) % {"left": left})
                return redirect(pending.next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
            form.add_error("code", check.message)
            if check.wait_seconds:
                status = 429
            else:
                # Counted by django-axes like a wrong password; at the limit the lockout page answers.
                user_login_failed.send(sender=__name__, credentials=credentials, request=request)
                if getattr(request, "axes_locked_out", False):
                    pending_clear(request)
                    return get_lockout_response(request, None, credentials)
    response = render(request, "registration/two_factor_code.html", {"form": form, "who": user}, status=status)
    if status == 429:
        response["Retry-After"] = str(check.wait_seconds)
    return _no_store(response)


# --- setting up an authenticator --------------------------------------------------------------

@never_cache
def enrol(request: HttpRequest) -> HttpResponse:
    pending = None
    if request.user.is_authenticated:
        user = request.user
    else:
        pending = pending_get(request)
        user = pending_user(pending) if pending else None
        if user is None:
            return redirect("login")
        if services.second_factor_needed(user) != "enrol":
            return redirect("accounts:two_factor_code")
    try:
        device = services.enrolment_device(user)
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
        return redirect("accounts:two_factor")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                device, codes = services.enrolment_confirm(user=user, code=form.cleaned_data["code"])
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                if pending is not None:
                    sign_in_complete(request, pending=pending, user=user, device=device)
                    next_url = pending.next_url or resolve_url(settings.LOGIN_REDIRECT_URL)
                else:
                    django_otp.login(request, device)
                    next_url = resolve_url("accounts:two_factor")
                return _no_store(render(request, "accounts/two_factor/backup_codes.html",
                                        {"codes": codes, "next_url": next_url, "enrolled": True}, status=201))
    qr = segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)
    context = {"form": form, "qr": qr, "key": services.manual_key(device), "pending": pending is not None,
               "required": pending is not None or services.status(user).required}
    return _no_store(render(request, "accounts/two_factor/enrol.html", context, status=status))


# --- a person's own page ----------------------------------------------------------------------

def _overview(request: HttpRequest, *, form: CodeForm | None = None, remove_form: CodeForm | None = None,
              status: int = 200) -> HttpResponse:
    context = {"status": services.status(request.user), "form": form or CodeForm(),
               "remove_form": remove_form or CodeForm(prefix="remove")}
    return render(request, "accounts/two_factor/overview.html", context, status=status)


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    return _overview(request)


@login_required
@require_POST
def backup_codes(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            if request.POST.get("action") == "new":
                codes = services.backup_codes_regenerate(user=request.user, code=form.cleaned_data["code"])
            else:
                codes = services.backup_codes(user=request.user, code=form.cleaned_data["code"])
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            context = {"codes": codes, "next_url": resolve_url("accounts:two_factor"),
                       "regenerated": request.POST.get("action") == "new"}
            return _no_store(render(request, "accounts/two_factor/backup_codes.html", context))
    return _overview(request, form=form, status=422)


@login_required
@require_POST
def remove(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST, prefix="remove")
    if form.is_valid():
        user = request.user
        try:
            services.device_remove(user=user, code=form.cleaned_data["code"])
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            if services.second_factor_needed(user) == "enrol":
                backend = request.session.get(BACKEND_SESSION_KEY, "")
                logout(request)
                pending_start(request, user=user, backend=backend)
                messages.info(request, _("Your authenticator app is removed. Your role signs in with one: set up "
                                         "the new one now."))
                return redirect("accounts:two_factor_enrol")
            messages.success(request, _("Your authenticator app and backup codes are removed: you sign in with "
                                        "your password alone."))
            return redirect("accounts:two_factor")
    return _overview(request, remove_form=form, status=422)


# --- CX admins --------------------------------------------------------------------------------

@admin_required
def policy(request: HttpRequest) -> HttpResponse:
    current = TwoFactorPolicy.load()
    form = PolicyForm(request.POST or None, initial={
        "agents": current.agents_required, "managers": current.managers_required, "admins": current.admins_required})
    if request.method == "POST" and form.is_valid():
        services.policy_update(by=request.user, **form.cleaned_data)
        messages.success(request, _("Saved. People of a required role without an authenticator app set one up at "
                                    "their next page."))
        return redirect("accounts:two_factor_policy")
    enrolled = Q(totpdevice__confirmed=True)
    counts = {row["role"]: row for row in User.objects.filter(is_active=True).order_by().values("role").annotate(
        people=Count("id", distinct=True), enrolled=Count("id", filter=enrolled, distinct=True))}
    rows = [{"field": form[field], "people": counts.get(role, {}).get("people", 0),
             "enrolled": counts.get(role, {}).get("enrolled", 0)}
            for field, role in (("agents", Role.AGENT), ("managers", Role.MANAGER), ("admins", Role.ADMIN))]
    context = {"form": form, "rows": rows, "users_url": reverse("accounts:users")}
    return render(request, "accounts/two_factor/policy.html", context,
                  status=422 if form.errors else 200)


@admin_required
@require_POST
def reset(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    try:
        services.two_factor_reset(by=request.user, user_id=user.pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Reset the second factor of %(name)s: they sign in with their password next "
                                    "time, and set up a new authenticator app if their role requires one.")
                         % {"name": user.display_name})
    return redirect("accounts:user_edit", pk=user.pk)
