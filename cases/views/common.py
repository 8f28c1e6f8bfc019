"""What every frontline page shares: the teams a user sees, HTMX fragments and their Vary header."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from accounts.models import Team
from accounts.selectors import visible_team_ids


def team_ids(user) -> list[int]:
    ids = visible_team_ids(user)
    return list(Team.objects.values_list("id", flat=True)) if ids is None else sorted(ids)


def wants_fragment(request: HttpRequest) -> bool:
    """An HTMX request that wants a fragment (a history restore wants the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ("HX-Request",))
    return response
