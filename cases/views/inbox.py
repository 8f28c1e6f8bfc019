"""/cases/: the inbox (saved views, filters, keyset pages) and its bulk actions."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Team, User
from cases import keyset, selectors, services
from cases.filtersets import CaseFilterSet
from cases.forms import (
    BulkForm,
    parse_assignee,
)
from cases.services import CaseConflict
from cases.views.common import team_ids, vary_on_htmx, wants_fragment
from surveys.models import Survey

INBOX_VIEWS = [
    ("mine", "My open"),
    ("unassigned", "Team unassigned"),
    ("team", "Team all"),
    ("overdue", "Overdue"),
    ("due_soon", "Due soon"),
    ("recently_closed", "Recently closed"),
]
DEFAULT_VIEW = "mine"
PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
NOT_FILTERS = {"view", "q", "after", "before", "size"}
# What a row shows, fetched in the page's one query (no per-row queries).
ROW_RELATED = ("response", "customer", "team", "assignee", "alert__rule")


# --- inbox ----------------------------------------------------------------------------------


def _inbox_context(request: HttpRequest, params: QueryDict) -> dict:
    views = dict(INBOX_VIEWS)
    view = params.get("view") if params.get("view") in views else DEFAULT_VIEW
    try:
        size = int(params.get("size", DEFAULT_PAGE_SIZE))
    except ValueError:
        size = DEFAULT_PAGE_SIZE
    size = size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE
    # Only the joins a row shows (the selector's default also loads root causes for the API).
    # An explicit closure date range (a report's drill-down) replaces "the last 7 days".
    closed_window = not (params.get("closed_after") or params.get("closed_before"))
    queryset = (
        selectors.inbox_queryset(request.user, view, closed_window=closed_window)
        .select_related(None)
        .select_related(*ROW_RELATED)
    )
    filterset = CaseFilterSet(params, queryset=queryset, request=request)
    _tune_filter_form(filterset.form)
    page = keyset.paginate(filterset.qs, after=params.get("after"), before=params.get("before"), size=size)
    counts = selectors.inbox_counts(request.user)
    filters_active = any(value for name, value in params.items() if name not in NOT_FILTERS)
    return {
        "view": view,
        "view_label": views[view],
        "tabs": [{"key": key, "label": label, "count": counts.get(key, 0)} for key, label in INBOX_VIEWS],
        "filterset": filterset,
        "filters_active": filters_active,
        "page": page,
        "size": size,
        "page_sizes": PAGE_SIZES,
        "now": timezone.now(),
        "return_query": params.urlencode(),
        "params": params,
        "inbox_url": reverse("cases:inbox"),
        "fragment": wants_fragment(request),
    }


FILTER_LABELS = {
    "team": "Team", "assignee": "Assignee", "unassigned": "Assigned or not", "status": "Status",
    "priority": "Priority", "touchpoint": "Touchpoint", "location": "Location or region", "survey": "Survey",
    "root_cause": "Root cause", "created": "Opened between", "closed": "Closed between",
    "theme": "Theme", "sentiment": "Comment sentiment",
}


def _tune_filter_form(form) -> None:
    """Friendlier widgets for the shared FilterSet's form (the filters themselves stay the API's):
    labels people use, checkboxes for short lists, names instead of ids, date pickers."""
    for name, label in FILTER_LABELS.items():
        if name in form.fields:
            form.fields[name].label = label
    for name in ("status", "priority", "team", "sentiment"):
        if name in form.fields:
            form.fields[name].widget = django_forms.CheckboxSelectMultiple(choices=form.fields[name].choices)
    if "theme" in form.fields:
        form.fields["theme"].empty_label = "Any theme"
        form.fields["theme"].widget.choices = form.fields["theme"].choices
    if "assignee" in form.fields:
        form.fields["assignee"].label_from_instance = lambda user: user.display_name
        form.fields["assignee"].widget.choices = form.fields["assignee"].choices
    if "survey" in form.fields:
        surveys = [("", "Any survey"), *Survey.objects.order_by("name").values_list("id", "name")]
        form.fields["survey"].widget = django_forms.Select(choices=surveys)
    if "unassigned" in form.fields:
        form.fields["unassigned"].widget = django_forms.Select(
            choices=[("", "Either"), ("true", "Only unassigned"), ("false", "Only assigned")]
        )
    for name in ("created", "closed"):
        if name in form.fields:
            field = form.fields[name]
            for widget, end in zip(field.widget.widgets, ("from", "to"), strict=False):
                widget.input_type = "date"
                widget.attrs["aria-label"] = f"{field.label}: {end}"


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    context = _inbox_context(request, request.GET)
    context["bulk_form"] = BulkForm(team_ids=team_ids(request.user))
    template = "cases/_inbox_results.html" if wants_fragment(request) else "cases/inbox.html"
    return vary_on_htmx(render(request, template, context))


@dataclass
class BulkResult:
    reference: str
    ok: bool
    message: str
    url: str = ""


def _bulk_apply(user: User, data: dict) -> list[BulkResult]:
    """Run one service per selected case, each in its own transaction: one failure (a conflict,
    a case closed meanwhile) is reported for that case and does not stop the others."""
    selected = dict(data["cases"])
    references = dict(
        selectors.case_list_for_user(user).filter(pk__in=list(selected)).values_list("pk", "reference")
    )
    action = data["action"]
    if action == "assign":
        team_id, user_id = parse_assignee(data["assignee"])
        assignee, team = User.objects.get(pk=user_id), Team.objects.get(pk=team_id)

        def perform(case_id, version):
            return services.case_assign(case_id=case_id, by=user, assignee=assignee, team=team, expected_version=version)

        done = f"assigned to {assignee.display_name}"
    elif action == "priority":

        def perform(case_id, version):
            return services.case_change_priority(
                case_id=case_id, by=user, priority=data["priority"], expected_version=version
            )

        done = f"priority set to {data['priority']}"
    else:

        def perform(case_id, version):
            return services.case_close(
                case_id=case_id,
                by=user,
                root_cause_id=data["root_cause"],
                resolution=data["resolution"],
                outcome=data["outcome"],
                prevention=data["prevention"],
                expected_version=version,
            )

        done = "closed"
    results = []
    for case_id, version in selected.items():
        reference = references.get(case_id)
        if reference is None:
            results.append(BulkResult(f"#{case_id}", False, "not found (or not yours to see)"))
            continue
        url = reverse("cases:detail", args=[reference])
        try:
            perform(case_id, version)
        except CaseConflict as exc:
            results.append(BulkResult(reference, False, exc.message, url))
        except ValidationError as exc:
            results.append(BulkResult(reference, False, " ".join(exc.messages), url))
        else:
            results.append(BulkResult(reference, True, done, url))
    return results


@login_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Assign, re-prioritise or close the selected rows, then show the same list again with a
    line per case saying what happened."""
    return_query = QueryDict(request.POST.get("return_query", ""))
    form = BulkForm(request.POST, team_ids=team_ids(request.user))
    results: list[BulkResult] = []
    if form.is_valid():
        results = _bulk_apply(request.user, form.cleaned_data)
        form = BulkForm(team_ids=team_ids(request.user))
        if not wants_fragment(request):
            for result in results:
                level = messages.SUCCESS if result.ok else messages.ERROR
                messages.add_message(request, level, f"{result.reference}: {result.message}")
            url = reverse("cases:inbox")
            return redirect(f"{url}?{return_query.urlencode()}" if return_query else url)
    context = _inbox_context(request, return_query)
    context.update(bulk_form=form, bulk_results=results)
    status = 200 if form.is_bound is False or form.is_valid() else 422
    template = "cases/_inbox_results.html" if wants_fragment(request) else "cases/inbox.html"
    return vary_on_htmx(render(request, template, context, status=status))
