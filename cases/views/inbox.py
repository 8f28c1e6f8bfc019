"""/cases/: the inbox (saved views, filters, keyset pages) and its bulk actions."""

from __future__ import annotations

import threading

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import router
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template import engines
from django.template.defaulttags import querystring
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Team, User
from cases import keyset, selectors
from cases.bulk import BulkResult, TeamMove, bulk_apply, describe_moves, team_moves
from cases.columns import COLUMNS, OPTIONAL, ColumnChoice, canonical, choose_columns
from cases.filtersets import DEFAULT_VIEW, PAGING_PARAMS, CaseFilterSet, inbox_filterset
from cases.forms import (
    BulkForm,
    parse_assignee,
)
from cases.models import Case
from cases.ordering import SORT_CHOICES, SORTS
from cases.rows import page_rows_html
from cases.saved_views.services import saved_views_for
from cases.templatetags.case_display import form_errors
from cases.views.common import team_ids, vary_on_htmx, wants_fragment
from cases.views.inbox_panels import bulk_fields_html, filter_panel_html
from cases.views.inbox_lists import filtered_first_page, first_page, row_fields, row_queryset
from cases.views.live import marker
from core import csrf

INBOX_VIEWS = [
    ("mine", _("My open")),
    ("unassigned", _("Team unassigned")),
    ("team", _("Team all")),
    ("overdue", _("Overdue")),
    ("due_soon", _("Due soon")),
    ("recently_closed", _("Recently closed")),
]
PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
NOT_FILTERS = {"view", "q", "sort", "panel", "columns", *PAGING_PARAMS}
# The column headers that sort: per column, links of (text, the sort a click asks for, the sort a
# second click asks for when this one is in force: the other direction, where it means something).
SORT_HEADERS = {
    "case": [(_("Case"), "newest", "oldest"), (_("Priority"), "priority", None)],
    "customer": [(_("Customer"), "value", None)],
    "sla": [(_("SLA"), "due", "due_desc")],
}
SORT_DIRECTIONS = {"due": "ascending", "due_desc": "descending", "newest": "descending", "oldest": "ascending",
                   "priority": "descending", "value": "descending", "churn": "descending"}
# `?panel=filters` / `?panel=bulk`: that panel open with its fields in the page (the no-JavaScript
# way in; with HTMX the fields load when the panel is opened, see inbox_filters and bulk_fields).
# `?panel=columns`: the column chooser open (its form sends it, so the chooser stays open after
# applying a choice, with focus back on its button).
PANELS = {"filters", "bulk", "columns"}
def _page_size(params: QueryDict) -> int:
    try:
        size = int(params.get("size", DEFAULT_PAGE_SIZE))
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


def _inbox_context(request: HttpRequest, params: QueryDict) -> dict:
    views = dict(INBOX_VIEWS)
    view = params.get("view") if params.get("view") in views else DEFAULT_VIEW
    size = _page_size(params)
    # Only the joins a row shows (the selector's default also loads root causes for the API).
    # An explicit closure date range (a report's drill-down) replaces "the last 7 days".
    closed_window = not (params.get("closed_after") or params.get("closed_before"))
    now = timezone.now()
    filters_active = any(value for name, value in params.items() if name not in NOT_FILTERS)
    match_count = None
    page = first_page(request.user, params, view, size, now)
    if page is None:
        filterset = inbox_filterset(request.user, params, request=request, now=now)
        # A saved view's filters: their list and count from statements compiled per shape.
        listed = filtered_first_page(request.user, filterset.form, params, view, size, now, count=filters_active)
        if listed is None:
            page = keyset.paginate(row_queryset(filterset), after=params.get("after"), before=params.get("before"),
                                   size=size)
            match_count = filterset.qs.count() if filters_active else None
        else:
            page, match_count = listed
    elif params.get("panel") == "filters":
        # The list is read; the FilterSet is only the open panel's form (no list query to build).
        filterset = CaseFilterSet(params, queryset=Case.objects.none(), request=request)
    else:
        # The list is read and nothing else asks for a FilterSet: first_page took only a view, a
        # sort it knows (so valid), a size and columns, so the search box is empty and the form
        # would have no errors.
        filterset = None
    columns = choose_columns(params)
    tab_urls, sort, column_state = _page_chrome(params, columns, view, filterset)
    counts = selectors.inbox_counts(request.user, now)
    show_filters = bool(filters_active or params.get("panel") == "filters"
                        or (filterset is not None and filterset.form.errors))
    view_label = views[view]
    if view == "recently_closed" and not closed_window:
        # A report's drill-down: its own period, not "the last 7 days".
        view_label = _("Closed %(after)s to %(before)s") % {
            "after": params.get("closed_after") or _("any time"), "before": params.get("closed_before") or _("now")}
    return {
        "view": view,
        "view_label": view_label,
        # With filters (a report's drill-down, a search): how many cases match, over every page,
        # so the list can be checked against the figure that led here.
        "match_count": match_count,
        "tabs": [{"key": key, "label": label, "count": counts.get(key, 0), "url": url} for key, label, url in tab_urls],
        "filterset": filterset,
        "search": (filterset.form["q"].value() or "") if filterset is not None else "",
        "filters_active": filters_active,
        "show_filters": show_filters,
        "page": page,
        # The rows' values as read (page.rows: dicts), their markup kept per row (cases.rows).
        "rows_html": page_rows_html(page.rows, row_fields(), now, columns, using=router.db_for_read(Case)),
        "size": size,
        "page_sizes": PAGE_SIZES,
        "now": now,
        "sort": sort,
        "columns": column_state,
        "sort_choices": SORT_CHOICES,
        "saved_views": _saved_views(request.user, params),
        "return_query": params.urlencode(),
        "params": params,
        "inbox_url": reverse("cases:inbox"),
        "bulk_url": reverse("cases:bulk"),
        "fragment": wants_fragment(request),
    }


# The tabs' addresses, the sort headers and the column chooser follow from the page's parameters
# alone (in a language, under an address prefix) when the filter form took them all (the sort in
# force is then the one asked for, and no field has an error) or none was made (the compiled first
# page: a view, a sort it knows, a size, columns): kept per process, at most CHROME_CACHE_SIZE
# parameter sets, about 0.3 ms of an inbox page's CPU. Nothing in them is the viewer's.
CHROME_CACHE_SIZE = 1024
_chrome: dict = {}
_chrome_lock = threading.Lock()


def _page_chrome(params: QueryDict, choice: ColumnChoice, view: str, filterset) -> tuple:
    """(the tabs' addresses, the sort state, the column state) for these parameters."""
    if filterset is not None and not filterset.form.is_valid():  # its errors: worked out for this request
        sort = _sort_state(filterset, params)
        return _tab_urls(params), sort, _column_state(params, choice, sort["headers"], view)
    key = (get_language(), get_script_prefix(), tuple((name, tuple(values)) for name, values in params.lists()), view)
    kept = _chrome.get(key)
    if kept is None:
        sort = _sort_state(None, params)
        kept = (_tab_urls(params), sort, _column_state(params, choice, sort["headers"], view))
        with _chrome_lock:
            while len(_chrome) >= CHROME_CACHE_SIZE:
                _chrome.pop(next(iter(_chrome)), None)
            _chrome[key] = kept
    return kept


def _tab_urls(params: QueryDict) -> list[tuple]:
    """The views as tabs: each one's address (the other parameters kept, the page's cursor left
    out); the page adds how many cases each holds."""
    url = reverse("cases:inbox")
    return [(key, label, url + querystring(None, params, view=key, after=None, before=None)) for key, label in INBOX_VIEWS]


def _sort_state(filterset, params: QueryDict) -> dict:
    """The sort in force ("" for the view's own order, also when an invalid one was asked for)
    and the column headers: per column its links, each with the address that sorts by it (the
    other direction when it is already in force) and the aria-sort of the column."""
    if filterset is None:  # the compiled first page: its sort is one of SORTS, or none
        current = params.get("sort") or ""
    else:
        current = (filterset.form.cleaned_data.get("sort") or "") if filterset.form.is_valid() else ""
    url = reverse("cases:inbox")
    headers = {}
    for column, links in SORT_HEADERS.items():
        items, aria = [], ""
        for text, first, second in links:
            active = current in (first, second)
            target = second if active and current == first and second else first
            query = params.copy()
            query.setlist("sort", [target])
            for key in ("after", "before"):
                query.pop(key, None)
            items.append({"text": text, "url": f"{url}?{query.urlencode()}", "active": active,
                          # Worded here, not by {% blocktranslate %} per link in the template:
                          # about 1,200 fewer calls a page for the same words.
                          "title": gettext("Sort: %(hint)s") % {"hint": SORTS[target].label},
                          "sr": gettext("(sort: %(hint)s)") % {"hint": SORTS[target].label}})
            aria = SORT_DIRECTIONS[current] if active else aria
        headers[column] = {"links": items, "aria_sort": aria}
    errors = filterset.form.errors.get("sort", []) if filterset is not None else []
    return {"current": current, "label": SORTS[current].label if current else "", "headers": headers,
            "errors": errors}


def _column_state(params: QueryDict, choice: ColumnChoice, sort_headers: dict, view: str) -> dict:
    """The table's headers for the columns chosen, and the column chooser: its options, the other
    parameters its plain GET form carries (so the list, its filters, sort and page stay), the
    addresses with the default columns and without filters, and the names it left out."""
    headers = []
    for column in COLUMNS:
        if not column.card and column.key not in choice:
            continue  # an optional column not chosen: not in the page at all
        css = f"col-{column.key}" + (" col-off" if column.key not in choice else "") + ("" if column.card else " col-extra")
        headers.append({"key": column.key, "label": column.label, "css": css, "sort": sort_headers.get(column.key)})
    url = reverse("cases:inbox")
    keep = [(key, value) for key, values in params.lists() if key not in ("columns", "panel") for value in values]
    default = params.copy()
    for key in ("columns", "panel"):
        default.pop(key, None)
    clear = QueryDict(mutable=True)
    clear["view"] = view
    clear.setlist("columns", choice.query_values)
    unknown = ""
    if choice.unknown:
        names = ", ".join(f"“{name}”" for name in choice.unknown)
        unknown = ngettext("There is no column %(names)s: it was left out.",
                           "There are no columns %(names)s: they were left out.", len(choice.unknown)) % {"names": names}
    return {
        "headers": headers,
        # Built here rather than by template loops: ten checkboxes and a few hidden inputs cost the
        # Django template engine about 3,000 calls a page (bench/page_cpu.py), format_html a tenth.
        "options_html": format_html_join(
            "", '<label><input type="checkbox" name="columns" value="{}"{}> {}</label>',
            ((column.key, mark_safe(" checked") if column.key in choice else "", column.label) for column in OPTIONAL)),
        "keep_html": format_html_join("", '<input type="hidden" name="{}" value="{}">', keep),
        "carry_html": format_html_join(
            "", '<input type="hidden" name="columns" value="{}" form="inbox-filters">', ((key,) for key in choice.query_values)),
        "is_default": choice.is_default,
        "default_url": f"{url}?{default.urlencode()}" if default else url,
        "clear_url": f"{url}?{clear.urlencode()}",
        "unknown": unknown,
        "open": params.get("panel") == "columns" or bool(choice.unknown),
    }


def _comparable(params: dict[str, list[str]]) -> dict[str, list[str]]:
    """Params as the saved-view bar compares them: values sorted, columns in the table's order and
    left out when they are the defaults (a saved view without columns shows the defaults)."""
    compared = {key: sorted(values) for key, values in params.items() if key != "columns"}
    columns = canonical(params.get("columns"))
    if columns != canonical(None):
        compared["columns"] = list(columns)
    return compared


def _saved_views(user, params: QueryDict) -> list[dict]:
    """The person's saved views with counts; the one these params show is marked current."""
    shown = {key: values for key, values in params.lists()
             if key not in PAGING_PARAMS and key != "panel" and any(values)}
    shown.setdefault("view", [DEFAULT_VIEW])
    shown = _comparable(shown)
    return [{"row": row, "current": _comparable(row.saved_view.params) == shown,
             "rename_label": gettext("New name for %(name)s") % {"name": row.saved_view.name},
             "delete_label": gettext("Delete %(name)s") % {"name": row.saved_view.name}}
            for row in saved_views_for(user)]


def _with_bulk_form(context: dict, form: BulkForm | None) -> dict:
    """The bulk form, its fields in the page when it was submitted or its panel asked for (its
    choices query people and root causes, so an unopened panel has no form at all)."""
    context.update(bulk_form=form, show_bulk=form is not None)
    return context


def _words(context: dict) -> dict:
    """The page's words with values in them, put together here: makemessages reads a Jinja2
    template's `_("...")` only without values (core.l10n.jinja2_environment)."""
    rows, label = len(context["page"].rows), context["view_label"]
    words = {
        "status": ngettext("%(view_label)s: %(rows)s case on this page", "%(view_label)s: %(rows)s cases on this page",
                           rows) % {"view_label": label, "rows": rows},
        "caption": gettext("%(view_label)s: cases on this page") % {"view_label": label},
    }
    if context["match_count"] is not None:
        words["matches"] = ngettext("case matches these filters", "cases match these filters", context["match_count"])
    if moves := context.get("bulk_confirm"):
        words["confirm_title"] = ngettext("Move %(counter)s case to another team?", "Move %(counter)s cases to another team?",
                                          len(moves)) % {"counter": len(moves)}
        words["confirm_button"] = ngettext("Yes, assign and move %(counter)s case", "Yes, assign and move %(counter)s cases",
                                           len(moves)) % {"counter": len(moves)}
    return words


def render_inbox(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    """The inbox page, or for HTMX its results alone (`fragment`): the content by Jinja2
    (jinja2/cases/inbox_page.html, inbox_results.html: a tenth of the page's CPU less than Django's
    engine, bench/page_cpu.py), the page around it by base.html; the open panels' fields by
    cases.views.inbox_panels."""
    context["words"] = _words(context)
    # The forms' token: the request's one masked token (core.csrf).
    context["csrf_html"] = csrf.input_html(request)
    context["bulk_errors_html"] = form_errors(context.get("bulk_form"))
    if context.get("show_filters"):
        context["filter_fields_html"] = filter_panel_html(context["filterset"], request.user, context["page_sizes"],
                                                          context["size"])
    if context.get("show_bulk"):
        context["bulk_fields_html"] = bulk_fields_html(context["bulk_form"])
    jinja = engines["jinja2"]
    if context["fragment"]:
        html = jinja.get_template("cases/inbox_results.html").render(context, request)
        return vary_on_htmx(HttpResponse(html, status=status))
    context["live_marker_html"] = render_to_string("cases/_live_marker.html", {"live": marker(request.user, "inbox")},
                                                   using="django")
    content = mark_safe(jinja.get_template("cases/inbox_page.html").render(context, request))  # escaped by Jinja2
    # The whole context, though base.html reads only the content and the title: the test client's
    # response.context shows what the page was made of.
    return vary_on_htmx(render(request, "cases/inbox.html", {**context, "content": content}, status=status))


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    form = BulkForm(team_ids=team_ids(request.user)) if request.GET.get("panel") == "bulk" else None
    return render_inbox(request, _with_bulk_form(_inbox_context(request, request.GET), form))


@login_required
@require_GET
def inbox_filters(request: HttpRequest) -> HttpResponse:
    """The filter panel's fields, fetched when it is opened: its choices (every visible team,
    person, root cause, theme) cost more to render than the rest of the page, and most visits
    never open it."""
    filterset = CaseFilterSet(request.GET, queryset=selectors.inbox_queryset(request.user, DEFAULT_VIEW), request=request)
    return HttpResponse(filter_panel_html(filterset, request.user, PAGE_SIZES, _page_size(request.GET)))


@login_required
@require_GET
def bulk_fields(request: HttpRequest) -> HttpResponse:
    """The bulk panel's fields (assignees, root causes), fetched when it is opened."""
    return HttpResponse(bulk_fields_html(BulkForm(team_ids=team_ids(request.user))))


def _bulk_apply(user: User, data: dict) -> list[BulkResult]:
    assignee = team = None
    if data["action"] == "assign":
        team_id, user_id = parse_assignee(data["assignee"])
        assignee, team = User.objects.get(pk=user_id), Team.objects.get(pk=team_id)
    return bulk_apply(
        user, action=data["action"], selected=dict(data["cases"]), assignee=assignee, team=team,
        priority=data["priority"], root_cause=data["root_cause"], resolution=data["resolution"],
        outcome=data["outcome"], prevention=data["prevention"],
    )


def _unconfirmed_moves(user: User, data: dict) -> list[TeamMove]:
    """An assignment that would move cases to another team, not yet confirmed: the moves."""
    if data["action"] != "assign":
        return []
    team_id, _user_id = parse_assignee(data["assignee"])
    if data.get("confirm_team_move") == team_id:
        return []
    return team_moves(user, dict(data["cases"]), Team.objects.get(pk=team_id))


@login_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Assign, re-prioritise or close the selected rows, then show the same list again with a
    line per case saying what happened. An assignment that would move cases to another team is
    asked about first (409 with the moves listed) and runs once confirmed."""
    return_query = QueryDict(request.POST.get("return_query", ""))
    form = BulkForm(request.POST, team_ids=team_ids(request.user))
    results: list[BulkResult] = []
    moves = _unconfirmed_moves(request.user, form.cleaned_data) if form.is_valid() else []
    if moves:
        # Ask first: the same list, the choices kept, the selection carried by the question.
        context = _inbox_context(request, return_query)
        _with_bulk_form(context, form).update(bulk_confirm=moves, bulk_confirm_team=parse_assignee(form.cleaned_data["assignee"])[0], bulk_confirm_text=describe_moves(moves),
                       bulk_selected=request.POST.getlist("cases"))
        return render_inbox(request, context, status=409)
    if form.is_valid():
        results = _bulk_apply(request.user, form.cleaned_data)
        form = BulkForm(team_ids=team_ids(request.user))
        if not wants_fragment(request):
            for result in results:
                level = messages.SUCCESS if result.ok else messages.ERROR
                messages.add_message(request, level, f"{result.reference}: {result.message}")
            url = reverse("cases:inbox")
            return redirect(f"{url}?{return_query.urlencode()}" if return_query else url)
    context = _with_bulk_form(_inbox_context(request, return_query), form)
    context.update(bulk_results=results)
    status = 200 if form.is_bound is False or form.is_valid() else 422
    return render_inbox(request, context, status=status)
