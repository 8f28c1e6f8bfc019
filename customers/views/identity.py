"""The identity settings page (CX admins): the matching rules, the suspected duplicates, the
recent merges; and the merge and undo actions."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import admin_required
from customers import selectors, services
from customers.forms import MergeForm
from customers.models import CustomerMerge
from surveys.models import Customer


def _render(request: HttpRequest, form: MergeForm | None = None, status: int = 200) -> HttpResponse:
    return render(request, "customers/identity.html", {
        "matching_rules": services.MATCHING_RULES, "duplicate_rules": services.DUPLICATE_RULES,
        "suspects": selectors.suspected_duplicates(), "form": form or MergeForm(),
        "merges": CustomerMerge.objects.select_related("target", "merged", "by", "undone_by")[:50],
    }, status=status)


@admin_required
@require_GET
def identity_settings(request: HttpRequest) -> HttpResponse:
    return _render(request)


@admin_required
@require_POST
def merge(request: HttpRequest) -> HttpResponse:
    form = MergeForm(request.POST)
    if form.is_valid():
        try:
            done = services.customer_merge(merged_id=form.cleaned_data["merged"], target_id=form.cleaned_data["target"],
                                           by=request.user, reason=form.cleaned_data["reason"])
        except Customer.DoesNotExist:
            form.add_error(None, _("There is no customer with that id."))
        except ValidationError as exc:
            for errors in exc.message_dict.values():
                form.add_error(None, errors)
        else:
            messages.success(request, _("%(merged)s merged into %(target)s.") % {
                "merged": done.merged, "target": done.target})
            return redirect("customers:detail", pk=done.target_id)
    return _render(request, form, status=400)


@admin_required
@require_POST
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        undone = services.customer_unmerge(merge_id=pk, by=request.user)
    except CustomerMerge.DoesNotExist as exc:
        raise Http404(_("No such merge.")) from exc
    except ValidationError as exc:
        messages.error(request, " ".join(" ".join(e) for e in exc.message_dict.values()))
        return _render(request, status=400)
    messages.success(request, _("Merge undone: %(merged)s is a customer of their own again.") % {
        "merged": undone.merged})
    return redirect("customers:detail", pk=undone.merged_id)
