"""Reads that scope by visibility. The rule itself, `visible_team_ids` (what may this user see?),
lives beside the models it reads (accounts.models), so Team.objects.visible_to can use it without
the models importing this module; it is re-exported here for the callers that scope a queryset."""

from __future__ import annotations

from accounts.models import visible_team_ids

__all__ = ["scope_by_team", "visible_team_ids"]


def scope_by_team(queryset, user, field: str = "team"):
    """Filter `queryset` to rows whose `field` (a Team foreign key path) the user may see."""
    ids = visible_team_ids(user)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": ids})
