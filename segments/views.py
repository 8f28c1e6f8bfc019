"""Settings pages for segments (CX admins): the list with member counts, the editor with a live
preview count of matching customers (HTMX, the same POST without saving), and delete. Saving goes
through segments.services, which the API and the admin use too."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import admin_required
from segments import selectors, services
from segments.conditions import clean_conditions, describe
from segments.forms import SegmentForm, condition_formset, conditions_from
from segments.models import Segment


@admin_required
def segment_list(request: HttpRequest) -> HttpResponse:
    segments = list(selectors.segment_list())
    counts = selectors.member_counts(segments)
    rows = [{"segment": s, "count": counts[s.pk], "conditions": [describe(c) for c in s.conditions]} for s in segments]
    return render(request, "segments/list.html", {"rows": rows})


def _preview(conditions: list[dict], problems: list[str], match: str) -> dict:
    if problems or not conditions:
        return {"count": None, "problems": problems}
    return {"count": selectors.preview_count(clean_conditions(conditions), match), "problems": []}


@admin_required
def segment_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk) if pk else None
    form = SegmentForm(request.POST or None, instance=segment)
    formset = condition_formset(request.POST or None, segment)
    status = 200
    problems: list[str] = []
    preview = _preview(segment.conditions, [], segment.match) if segment else {"count": None, "problems": []}
    if request.method == "POST":
        formset_valid = formset.is_valid()
        conditions, problems = conditions_from(formset)
        # The model's clean() (run by the form) reads the conditions: give it the rows first.
        form.instance.conditions = conditions if not problems else [{"field": "tier", "operator": "is_set"}]
        valid = form.is_valid() and formset_valid
        match = request.POST.get("match") if request.POST.get("match") in Segment.Match.values else "all"
        if request.POST.get("preview"):
            preview = _preview(conditions, problems, match)
            if request.htmx:
                return render(request, "segments/_preview.html", {"preview": preview})
            problems = []
        elif valid and not problems:
            form.instance.conditions = conditions
            try:
                saved = services.segment_save(form.instance)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    if field == "conditions":
                        problems = errors
                    else:
                        form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Saved “%(segment)s”.") % {"segment": saved})
                return redirect("segments:list")
            status = 422
        else:
            status = 422
    return render(request, "segments/form.html", {
        "form": form, "formset": formset, "segment": segment, "problems": problems, "preview": preview,
        "not_saved": status == 422,
        "title": _("Segment “%(segment)s”") % {"segment": segment} if segment else _("New segment"),
    }, status=status)


@admin_required
@require_POST
def segment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    try:
        services.segment_delete(segment)
    except services.SegmentInUse as exc:
        messages.error(request, str(exc))
        return redirect("segments:edit", pk=pk)
    messages.success(request, _("Deleted “%(segment)s”.") % {"segment": segment.name})
    return redirect("segments:list")
