"""The API tokens page (/account/api-tokens/): everyone lists, creates and revokes their own
tokens; CX admins also see and revoke everyone's. A new key is shown once, in the answer to the
POST that made it (never put in the session or a message). Writes go through
accounts.services.tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _

from accounts.forms import TokenForm
from accounts.services import tokens as services


def _page(request: HttpRequest, form: TokenForm, *, created=None, status: int = 200) -> HttpResponse:
    others = services.token_list_all().exclude(user=request.user) if request.user.is_admin_role else None
    context = {"form": form, "tokens": services.token_list(user=request.user), "others": others,
               "created": created}
    response = render(request, "accounts/tokens.html", context, status=status)
    if created:
        response["Cache-Control"] = "no-store"  # the key must not stay in a cache
    return response


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    may_provision = request.user.is_admin_role
    if request.method != "POST":
        return _page(request, TokenForm(may_provision=may_provision))
    form = TokenForm(request.POST, may_provision=may_provision)
    if form.is_valid():
        try:
            created = services.token_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            return _page(request, TokenForm(may_provision=may_provision), created=created, status=201)
    return _page(request, form, status=422)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        token = services.token_revoke(by=request.user, token_id=pk)
    except PermissionDenied:
        raise Http404("No such token.") from None
    whose = "" if token.user_id == request.user.pk else f" of {token.user.display_name}"
    messages.success(request, _("Revoked “%(token)s”%(whose)s (%(prefix)s…): it no longer works.") % {"token": token.name, "whose": whose, "prefix": token.prefix})
    return redirect("accounts:tokens")
