"""Reads for the follow-up app. Visibility is accounts.selectors.visible_team_ids, as everywhere."""

from __future__ import annotations

from accounts.selectors import scope_by_team
from followup.models import Recognition


def recognition_list_for_user(user):
    """Recognitions of the teams `user` may see (admins: all, including those without a team),
    newest first."""
    qs = Recognition.objects.select_related("praised_user", "team", "response", "response__customer")
    return scope_by_team(qs, user).order_by("-created_at", "-id")

