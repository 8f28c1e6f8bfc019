"""The one answer to "what may this user see?". Every list, detail view, API endpoint, export
and report scopes its queryset through `visible_team_ids`, so the rule lives in one place."""

from __future__ import annotations


def visible_team_ids(user) -> set[int] | None:
    """Team ids whose objects `user` may see, or None for "every team" (admins).

    - admin (role or superuser): every team;
    - manager: the teams they are a member or manager of;
    - agent: the teams they are a member of.
    Anonymous and inactive users see nothing.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    if user.is_admin_role:
        return None
    cache = getattr(user, "_visible_team_ids", None)
    if cache is None:
        from accounts.models import Membership

        cache = set(Membership.objects.filter(user=user).values_list("team_id", flat=True))
        user._visible_team_ids = cache
    return cache


def scope_by_team(queryset, user, field: str = "team"):
    """Filter `queryset` to rows whose `field` (a Team foreign key path) the user may see."""
    ids = visible_team_ids(user)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": ids})
