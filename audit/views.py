"""The audit trail page (/settings/audit/) and its CSV export: CX admins only (others: 404, as
every admin area answers, accounts.permissions)."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.permissions import admin_required
from audit.filtersets import AuditEntryFilterSet
from audit.selectors import CSV_HEADER, audit_entries, change_lines, csv_row
from core.csv_export import csv_text

PAGE_SIZE = 50


def _filtered(request):
    filterset = AuditEntryFilterSet(request.GET or None, queryset=audit_entries())
    if filterset.is_bound and not filterset.is_valid():
        return filterset, None
    return filterset, filterset.qs


@admin_required
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    filterset, queryset = _filtered(request)
    status = 200 if queryset is not None else 400
    page = Paginator(queryset if queryset is not None else audit_entries().none(), PAGE_SIZE).get_page(
        request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    rows = [(entry, change_lines(entry)) for entry in page]
    return render(request, "audit/entry_list.html", {
        "filterset": filterset, "page": page, "rows": rows, "querystring": params.urlencode(),
    }, status=status)


@admin_required
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered entries as CSV (core.csv_export: formula-safe cells), newest first. Refused
    with 400 and a sentence when more than AUDIT_EXPORT_MAX_ROWS match: never a cut-off file."""
    filterset, queryset = _filtered(request)
    if queryset is None:
        problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in filterset.errors.items())
        return HttpResponse(problems, status=400, content_type="text/plain; charset=utf-8")
    limit = settings.AUDIT_EXPORT_MAX_ROWS
    count = queryset.count()
    if count > limit:
        message = _("%(count)d entries match; an export holds at most %(limit)d. Narrow the dates or filters "
                    "and export in parts.") % {"count": count, "limit": limit}
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    body = csv_text(CSV_HEADER, (csv_row(entry) for entry in queryset.iterator(chunk_size=2000)))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="closeloop-audit-{stamp}.csv"'
    return response
