"""The writes SCIM provisioning makes. The adapters (accounts.scim.adapters) collect what a request
asks for into a UserChanges or TeamChanges and call one function here.

- A user made by SCIM has no usable password: they sign in with single sign-on (accounts.sso), or
  choose a password through "Forgot your password?", which sends them an invitation link.
- Deprovisioning (active=false, or DELETE) goes through accounts.services.users.user_update: the
  person's sessions end at once and their API tokens stop working. People are never deleted: their
  cases and timelines keep their name, and reactivating (active=true) restores access.
- A group is a team; its members are the team's members (team managers when their role is manager).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts.models import Membership, Role, Team, User
from accounts.services.users import user_update
from accounts.teams import team_delete, team_save

logger = logging.getLogger(__name__)

USERNAME_MAX = 150
NAME_MAX = 150
EXTERNAL_ID_MAX = 254
TEAM_NAME_MAX = 120


class ScimConflict(Exception):
    """A value another user or team already has (SCIM 409, scimType uniqueness)."""


@dataclass(frozen=True)
class UserChanges:
    """What a SCIM request sets on a user; None leaves a value as it is."""

    username: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    external_id: str | None = None
    active: bool | None = None


@dataclass(frozen=True)
class TeamChanges:
    name: str | None = None
    external_id: str | None = None
    members: tuple[int, ...] | None = None  # the whole list (POST, PUT, PATCH replace)
    add: tuple[int, ...] = field(default_factory=tuple)
    remove: tuple[int, ...] = field(default_factory=tuple)


def _check_user_values(changes: UserChanges, *, user_id: int | None) -> None:
    if changes.username is not None:
        if not changes.username:
            raise ValidationError("userName may not be empty.")
        if len(changes.username) > USERNAME_MAX:
            raise ValidationError(f"userName is at most {USERNAME_MAX} characters.")
        try:
            User.username_validator(changes.username)
        except ValidationError:
            raise ValidationError("userName may contain only letters, digits and @ . + - _") from None
        if User.objects.filter(username__iexact=changes.username).exclude(pk=user_id).exists():
            raise ScimConflict(f"A user with userName {changes.username} exists already.")
    if changes.email:
        try:
            validate_email(changes.email)
        except ValidationError:
            raise ValidationError(f"“{changes.email}” is not an e-mail address such as ana@example.com.") from None
        if User.objects.filter(email__iexact=changes.email).exclude(pk=user_id).exists():
            raise ScimConflict(f"A user with the e-mail address {changes.email} exists already.")
    for name, value, limit in (("name.givenName", changes.first_name, NAME_MAX),
                               ("name.familyName", changes.last_name, NAME_MAX),
                               ("externalId", changes.external_id, EXTERNAL_ID_MAX)):
        if value is not None and len(value) > limit:
            raise ValidationError(f"{name} is at most {limit} characters.")


def scim_user_create(*, by: User, changes: UserChanges) -> User:
    if not changes.username:
        raise ValidationError("userName is required.")
    _check_user_values(changes, user_id=None)
    user = User(username=changes.username, email=changes.email or "", role=Role.AGENT,
                first_name=changes.first_name or "", last_name=changes.last_name or "",
                scim_external_id=changes.external_id or "", is_active=changes.active is not False)
    user.set_unusable_password()
    user.save()
    logger.info("scim: user %s created by %s", user.pk, by.pk)
    return user


@transaction.atomic
def scim_user_update(*, by: User, user_id: int, changes: UserChanges) -> User:
    user = User.objects.select_for_update().get(pk=user_id)
    _check_user_values(changes, user_id=user.pk)
    changed = []
    for attribute, value in (("username", changes.username), ("email", changes.email),
                             ("first_name", changes.first_name), ("last_name", changes.last_name),
                             ("scim_external_id", changes.external_id)):
        if value is not None and getattr(user, attribute) != value:
            setattr(user, attribute, value)
            changed.append(attribute)
    if changed:
        user.save(update_fields=changed)
        logger.info("scim: user %s changed by %s: %s", user.pk, by.pk, ", ".join(changed))
    if changes.active is not None and changes.active != user.is_active:
        # The users pages' rules hold here too (nobody deprovisions themselves or the last CX admin),
        # and deactivating ends the person's sessions.
        user = user_update(by=by, user_id=user.pk, is_active=changes.active)
    return user


def scim_user_deprovision(*, by: User, user_id: int) -> User:
    """DELETE /scim/v2/Users/<id>: the person is deactivated, not deleted."""
    return scim_user_update(by=by, user_id=user_id, changes=UserChanges(active=False))


def _members(ids: tuple[int, ...]) -> list[User]:
    users = list(User.objects.filter(pk__in=set(ids)))
    missing = set(ids) - {user.pk for user in users}
    if missing:
        raise ValidationError(f"No user with id {', '.join(str(i) for i in sorted(missing))}.")
    return users


def _set_members(team: Team, *, members=None, add=(), remove=()) -> None:
    current = set(Membership.objects.filter(team=team).values_list("user_id", flat=True))
    if members is not None:
        wanted = {user.pk: user for user in _members(members)}
        to_add = [user for pk, user in wanted.items() if pk not in current]
        to_remove = current - wanted.keys()
    else:
        to_add = [user for user in _members(add) if user.pk not in current]
        to_remove = current & set(remove)  # removing someone who is not a member changes nothing
    Membership.objects.bulk_create(
        [Membership(user=user, team=team, is_manager=user.role == Role.MANAGER) for user in to_add])
    if to_remove:
        Membership.objects.filter(team=team, user_id__in=to_remove).delete()


def _check_team_name(name: str, team_id: int | None) -> None:
    if not name.strip():
        raise ValidationError("displayName may not be empty.")
    if len(name) > TEAM_NAME_MAX:
        raise ValidationError(f"displayName is at most {TEAM_NAME_MAX} characters.")
    if Team.objects.filter(name__iexact=name.strip()).exclude(pk=team_id).exists():
        raise ScimConflict(f"A team named {name.strip()} exists already.")


@transaction.atomic
def scim_team_create(*, by: User, changes: TeamChanges) -> Team:
    if changes.name is None:
        raise ValidationError("displayName is required.")
    _check_team_name(changes.name, None)
    team = team_save(Team(name=changes.name.strip(), scim_external_id=changes.external_id or ""))
    _set_members(team, members=changes.members or ())
    logger.info("scim: team %s created by %s", team.pk, by.pk)
    return team


@transaction.atomic
def scim_team_update(*, by: User, team_id: int, changes: TeamChanges) -> Team:
    team = Team.objects.select_for_update().get(pk=team_id)
    if changes.name is not None and changes.name.strip() != team.name:
        _check_team_name(changes.name, team.pk)
        team.name = changes.name.strip()
        team_save(team)
    if changes.external_id is not None and changes.external_id != team.scim_external_id:
        if len(changes.external_id) > EXTERNAL_ID_MAX:
            raise ValidationError(f"externalId is at most {EXTERNAL_ID_MAX} characters.")
        Team.objects.filter(pk=team.pk).update(scim_external_id=changes.external_id)
        team.scim_external_id = changes.external_id
    if changes.members is not None or changes.add or changes.remove:
        _set_members(team, members=changes.members, add=changes.add, remove=changes.remove)
    logger.info("scim: team %s changed by %s", team.pk, by.pk)
    return team


def scim_team_delete(*, by: User, team_id: int) -> None:
    """Refused (ValidationError) for the default team and a team that owns cases."""
    team = Team.objects.get(pk=team_id)
    team_delete(team)
    logger.info("scim: team %s deleted by %s", team_id, by.pk)
