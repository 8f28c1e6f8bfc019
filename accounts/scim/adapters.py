"""django-scim2 adapters: a SCIM User is an accounts.User, a SCIM Group an accounts.Team.

An adapter reads a request's JSON into the changes accounts.scim.services takes (never setting
attributes on the model itself) and writes through those services on save(). Everything a client
can send wrong becomes a SCIM error with a 4xx status (django-scim2 turns any other exception into
a 500).
"""

from __future__ import annotations

from urllib.parse import urljoin

from django.core.exceptions import ValidationError
from django.urls import reverse
from django_scim.adapters import SCIMGroup, SCIMUser
from django_scim.exceptions import BadRequestError, IntegrityError
from django_scim.models import SCIMServiceProviderConfig
from django_scim.utils import get_base_scim_location_getter

from accounts.models import User
from accounts.scim import patch
from accounts.scim.services import (
    ScimConflict, TeamChanges, UserChanges, scim_team_create, scim_team_delete, scim_team_update, scim_user_create,
    scim_user_deprovision, scim_user_update,
)

MAX_RESULTS = 200


def scim_error(exc: Exception) -> Exception:
    if isinstance(exc, ScimConflict):
        return IntegrityError(str(exc), scim_type="uniqueness")
    if isinstance(exc, ValidationError):
        return BadRequestError(" ".join(exc.messages), scim_type="invalidValue")
    return exc


def _text_or_none(body: dict, name: str) -> str | None:
    return patch.as_text(name, body[name]) if name in body else None


class ScimUser(SCIMUser):
    id_field = "pk"

    def __init__(self, obj, request=None):
        super().__init__(obj, request)
        self.changes = UserChanges()

    @property
    def id(self):
        return str(self.obj.pk)

    @property
    def groups(self):
        return [{"value": str(team.pk), "$ref": urljoin(get_base_scim_location_getter()(self.request),
                                                        reverse("scim:groups", kwargs={"uuid": team.pk})),
                 "display": team.name}
                for team in self.obj.teams.order_by("name")]

    def to_dict(self):
        d = super().to_dict()
        d["externalId"] = self.obj.scim_external_id or None
        d["emails"] = [{"value": self.obj.email, "primary": True, "type": "work"}] if self.obj.email else []
        return d

    def validate_dict(self, d):
        if "password" in d:
            raise BadRequestError("Closeloop takes no passwords over SCIM: people provisioned by SCIM sign in with "
                                  "single sign-on. Turn off password sync for this application.",
                                  scim_type="invalidValue")

    def from_dict(self, d):
        """POST and PUT: the whole resource. userName is required; what is left out is cleared
        (names, external id), except the address and `active`, which stay as they are."""
        if not isinstance(d.get("userName"), str) or not d["userName"].strip():
            raise BadRequestError("“userName” is required (a string).", scim_type="invalidValue")
        name = d.get("name") or {}
        if not isinstance(name, dict):
            raise BadRequestError("“name” must be an object with givenName and familyName.", scim_type="invalidValue")
        self.changes = UserChanges(
            username=patch.as_text("userName", d["userName"]),
            email=patch.primary_email(d["emails"]) if d.get("emails") is not None else None,
            first_name=patch.as_text("name.givenName", name.get("givenName")),
            last_name=patch.as_text("name.familyName", name.get("familyName")),
            external_id=patch.as_text("externalId", d.get("externalId")),
            active=patch.as_bool("active", d["active"]) if d.get("active") is not None else None,
        )

    def save(self):
        try:
            if self.obj.pk is None:
                self.obj = scim_user_create(by=self.request.user, changes=self.changes)
            else:
                self.obj = scim_user_update(by=self.request.user, user_id=self.obj.pk, changes=self.changes)
        except (ScimConflict, ValidationError) as exc:
            raise scim_error(exc) from None

    def delete(self):
        try:
            scim_user_deprovision(by=self.request.user, user_id=self.obj.pk)
        except (ScimConflict, ValidationError) as exc:
            raise scim_error(exc) from None

    def handle_operations(self, operations):
        self.changes = patch.user_changes_from_patch({"Operations": operations})
        self.save()


class ScimTeam(SCIMGroup):
    id_field = "pk"

    def __init__(self, obj, request=None):
        super().__init__(obj, request)
        self.changes = TeamChanges()

    @property
    def id(self):
        return str(self.obj.pk)

    @property
    def members(self):
        users = User.objects.filter(memberships__team=self.obj).order_by("username")
        return [{"value": str(user.pk), "$ref": ScimUser(user, self.request).location,
                 "display": user.display_name} for user in users]

    def to_dict(self):
        d = super().to_dict()
        d["externalId"] = self.obj.scim_external_id or None
        return d

    def validate_dict(self, d):
        pass

    def from_dict(self, d):
        if not isinstance(d.get("displayName"), str) or not d["displayName"].strip():
            raise BadRequestError("“displayName” is required (a string).", scim_type="invalidValue")
        self.changes = TeamChanges(
            name=patch.as_text("displayName", d["displayName"]),
            external_id=patch.as_text("externalId", d.get("externalId")),
            members=tuple(patch.member_ids(d.get("members") or [])),
        )

    def save(self):
        try:
            if self.obj.pk is None:
                self.obj = scim_team_create(by=self.request.user, changes=self.changes)
            else:
                self.obj = scim_team_update(by=self.request.user, team_id=self.obj.pk, changes=self.changes)
        except (ScimConflict, ValidationError) as exc:
            raise scim_error(exc) from None

    def delete(self):
        try:
            scim_team_delete(by=self.request.user, team_id=self.obj.pk)
        except ValidationError as exc:
            raise IntegrityError(" ".join(exc.messages), scim_type="mutability") from None

    def handle_operations(self, operations):
        self.changes = patch.team_changes_from_patch({"Operations": operations})
        self.save()


class ServiceProviderConfig(SCIMServiceProviderConfig):
    """What /scim/v2/ServiceProviderConfig promises: PATCH and filters yes; bulk, sort, ETags and
    password changes no."""

    def to_dict(self):
        d = super().to_dict()
        d["filter"] = {"supported": True, "maxResults": MAX_RESULTS}
        d["changePassword"] = {"supported": False}
        d["documentationUri"] = None
        return d

