"""/cases/saved-views/: save the inbox as it is shown, rename or delete a saved view.

Plain POST forms (the bar above the list, jinja2/cases/inbox_results.html): a success goes back
to the inbox (303) with a message; a refusal shows the inbox again with the reason by the form
(422). Another person's saved view is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _

from cases.saved_views import services
from cases.views.inbox import _inbox_context, render_inbox


def _refused(request: HttpRequest, query: QueryDict, error: ValidationError, saved_view_id=None) -> HttpResponse:
    context = _inbox_context(request, query)
    context.update(bulk_form=None, show_bulk=False, fragment=False,
                   saved_view_errors=[m for messages_ in error.message_dict.values() for m in messages_],
                   saved_view_error_for=saved_view_id, saved_view_name=request.POST.get("name", ""))
    return render_inbox(request, context, status=422)


def _back(query: str) -> HttpResponse:
    url = reverse("cases:inbox")
    return redirect(f"{url}?{query}" if query else url, permanent=False)


@login_required
@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    """Save the inbox as shown (its query string, in `query`) under `name`."""
    query = QueryDict(request.POST.get("query", ""))
    try:
        saved_view = services.saved_view_create(owner=request.user, name=request.POST.get("name"), params=query)
    except ValidationError as error:
        return _refused(request, query, error)
    messages.success(request, _("Saved this view as “%(saved_view)s”.") % {"saved_view": saved_view.name})
    return _back(services.saved_view_query(saved_view))


@login_required
@require_POST
def saved_view_rename(request: HttpRequest, pk: int) -> HttpResponse:
    query = QueryDict(request.POST.get("query", ""))
    try:
        saved_view = services.saved_view_update(owner=request.user, pk=pk, name=request.POST.get("name"))
    except services.SavedViewNotFound:
        raise Http404("No such saved view.") from None
    except ValidationError as error:
        return _refused(request, query, error, saved_view_id=pk)
    messages.success(request, _("Renamed the view to “%(saved_view)s”.") % {"saved_view": saved_view.name})
    return _back(query.urlencode())


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    query = QueryDict(request.POST.get("query", ""))
    try:
        saved_view = services.saved_view_get(owner=request.user, pk=pk)
        services.saved_view_delete(owner=request.user, pk=pk)
    except services.SavedViewNotFound:
        raise Http404("No such saved view.") from None
    messages.success(request, _("Deleted the view “%(saved_view)s”.") % {"saved_view": saved_view.name})
    return _back(query.urlencode())
