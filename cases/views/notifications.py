"""/cases/notifications/: the notification centre (assigned to me, mentioned, escalated, customer
replied), newest first, with "mark read" per row and for all. Rows come from cases.inapp; the bell
in the navigation shows the unread count (cases.context_processors)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from cases import inapp
from core.ids import parse_id

PAGE_SIZE = 50


@login_required
@require_GET
def notifications_page(request: HttpRequest) -> HttpResponse:
    page = Paginator(inapp.for_user(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    items = [{"row": row, **inapp.describe(row)} for row in page.object_list]
    return render(request, "notifications/list.html", {
        "page": page, "items": items, "unread": inapp.unread_count(request.user.pk)})


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    """Mark one (`id`) or all (`all`) read, then back to the centre (or on to the case)."""
    if request.POST.get("all"):
        inapp.notifications_mark_read(user=request.user)
    else:
        ids = [i for i in map(parse_id, request.POST.getlist("id")) if i is not None]
        inapp.notifications_mark_read(user=request.user, ids=ids)
    follow = request.POST.get("next", "")
    if follow.startswith("/cases/") and not follow.startswith("//"):
        return redirect(follow)
    return redirect("cases:notifications")
