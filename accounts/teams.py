"""Writes to teams, memberships, closed days and SLA policies: the settings pages, the API and the
Django admin all save through here, so the rules of accounts.validation (run by the models'
full_clean) and the one-default-team rule hold whichever door a change comes through.

    team_save(team) -> Team                 # validates; a new default moves the flag
    team_delete(team)                       # refused for the default team and teams with cases
    membership_set(team, user, is_manager)  # add or update
    closed_day_add(team, date, name) -> ClosedDay
    sla_policy_save(policy) -> SlaPolicy
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.deletion import ProtectedError
from django.utils import formats
from django.utils.text import slugify
from django.utils.translation import gettext

from accounts.models import ClosedDay, Membership, SlaPolicy, Team, User


def _unique_slug(team: Team) -> str:
    base = slugify(team.name)[:50] or "team"
    slug, n = base, 2
    while Team.objects.filter(slug=slug).exclude(pk=team.pk).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def team_save(team: Team) -> Team:
    """Validate and save a team. The first team is the default; a team saved as the default takes
    the flag from the previous one in the same transaction (the database allows only one)."""
    if not team.slug:
        team.slug = _unique_slug(team)
    if not Team.objects.filter(is_default=True).exclude(pk=team.pk).exists():
        team.is_default = True if team.pk is None else team.is_default
    team.full_clean()
    if team.is_default:
        # Saved one by one (there is at most one) so the audit trail records the flag leaving it too.
        for previous in Team.objects.select_for_update().filter(is_default=True).exclude(pk=team.pk):
            previous.is_default = False
            previous.save(update_fields=["is_default"])
    team.save()
    return team


def team_delete(team: Team) -> None:
    if team.is_default:
        raise ValidationError(gettext("The default team cannot be deleted: make another team the default first."))
    try:
        team.delete()
    except ProtectedError:
        raise ValidationError(gettext("“%(team)s” owns cases and cannot be deleted; move its routing rules to "
                                      "another team instead.") % {"team": team.name}) from None


def membership_set(team: Team, user: User, *, is_manager: bool = False) -> Membership:
    membership, _ = Membership.objects.update_or_create(team=team, user=user, defaults={"is_manager": is_manager})
    return membership


def closed_day_add(team: Team, date: dt.date, name: str = "") -> ClosedDay:
    if ClosedDay.objects.filter(team=team, date=date).exists():
        raise ValidationError({"date": [gettext("%(team)s is already closed on %(date)s.") % {
            "team": team.name, "date": formats.date_format(date, "d M Y")}]})
    day = ClosedDay(team=team, date=date, name=name.strip())
    day.full_clean()
    day.save()
    return day


def sla_policy_save(policy: SlaPolicy) -> SlaPolicy:
    policy.full_clean()
    policy.save()
    return policy
