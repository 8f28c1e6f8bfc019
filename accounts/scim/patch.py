"""PATCH (RFC 7644 §3.5.2) turned into the changes accounts.scim.services takes.

Users: `active`, `userName`, `name.givenName`, `name.familyName`, `name`, `emails` (the primary or
work address), `externalId`; with or without a `path` (Okta sends `{"op": "replace", "value":
{"active": false}}`, Entra `{"op": "Replace", "path": "active", "value": "False"}`). Other
attributes of the User schemas (title, phoneNumbers, the enterprise extension, ...) are accepted
and not kept: Closeloop has no place for them (docs/users.md lists what it keeps). A path no schema
has is refused with 400 invalidPath.

Groups: `members` (add, remove, replace; `members[value eq "42"]` removes one), `displayName`,
`externalId`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import django_scim
from django_scim.exceptions import BadRequestError

from accounts.scim.services import TeamChanges, UserChanges

OPS = {"add", "replace", "remove"}
CORE_USER_URN = "urn:ietf:params:scim:schemas:core:2.0:user:"
CORE_GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:group:"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"
_SCHEMA = json.loads((Path(django_scim.__file__).parent / "schemas" / "core" / "User.json").read_text())
USER_ATTRIBUTES = {attribute["name"].lower() for attribute in _SCHEMA["attributes"]}
EMAIL_VALUE_PATHS = {'emails[type eq "work"].value', "emails[primary eq true].value", "emails.value"}
MEMBER_FILTER = re.compile(r'^members\[value eq "([^"]*)"\]$', re.IGNORECASE)


def bad(detail: str, scim_type: str | None = None) -> BadRequestError:
    return BadRequestError(detail, scim_type=scim_type) if scim_type else BadRequestError(detail)


def as_bool(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"  # Entra sends "False"
    raise bad(f"“{name}” must be true or false.", "invalidValue")


CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def as_text(name: str, value, *, remove: bool = False) -> str:
    if remove or value is None:
        return ""
    if not isinstance(value, str):
        raise bad(f"“{name}” must be a string.", "invalidValue")
    if CONTROL.search(value):
        raise bad(f"“{name}” may not contain control characters (line breaks, tabs, NUL).", "invalidValue")
    return value.strip()


def primary_email(value) -> str:
    """The address of an `emails` value: the primary entry of the list, else the first one."""
    if isinstance(value, dict):  # OneLogin sends one object
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise bad("“emails” must be a list of objects such as {\"value\": \"ana@example.com\", \"primary\": true}.",
                  "invalidValue")
    if not value:
        return ""
    chosen = next((item for item in value if item.get("primary") is True), value[0])
    return as_text("emails.value", chosen.get("value"))


def operations_of(body: dict) -> list[dict]:
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        raise bad("A PATCH needs an “Operations” list (RFC 7644 §3.5.2).")
    for operation in operations:
        if not isinstance(operation, dict):
            raise bad("Each operation is an object such as {\"op\": \"replace\", \"path\": \"active\", \"value\": false}.")
        if str(operation.get("op", "")).lower() not in OPS:
            raise bad(f"“{operation.get('op')}” is not a PATCH op: use add, replace or remove.", "invalidSyntax")
        if operation.get("path") is not None and not isinstance(operation.get("path"), str):
            raise bad("“path” must be a string.", "invalidPath")
    return operations


def _pairs(operation: dict) -> list[tuple[str, object]]:
    path = (operation.get("path") or "").strip()
    if path:
        return [(path, operation.get("value"))]
    if operation["op"].lower() == "remove":
        raise bad("A remove operation needs a “path”.", "noTarget")
    if not isinstance(operation.get("value"), dict):
        raise bad("An operation without a “path” needs an object “value” of attributes.", "invalidValue")
    return list(operation["value"].items())


def user_changes_from_patch(body: dict) -> UserChanges:
    values: dict = {}
    for operation in operations_of(body):
        remove = operation["op"].lower() == "remove"
        for path, value in _pairs(operation):
            _user_path(values, path, value, remove)
    return UserChanges(**values)


def _user_path(values: dict, path: str, value, remove: bool) -> None:
    low = path.lower()
    if low.startswith(CORE_USER_URN):
        low = low[len(CORE_USER_URN):]
    if low == "active":
        if remove:
            raise bad("“active” cannot be removed: replace it with true or false.", "mutability")
        values["active"] = as_bool("active", value)
    elif low == "username":
        if remove:
            raise bad("“userName” cannot be removed.", "mutability")
        values["username"] = as_text("userName", value)
    elif low == "name.givenname":
        values["first_name"] = as_text("name.givenName", value, remove=remove)
    elif low == "name.familyname":
        values["last_name"] = as_text("name.familyName", value, remove=remove)
    elif low == "name":
        if remove or value is None:
            values["first_name"] = values["last_name"] = ""
        elif not isinstance(value, dict):
            raise bad("“name” must be an object with givenName and familyName.", "invalidValue")
        else:
            if "givenName" in value:
                values["first_name"] = as_text("name.givenName", value["givenName"])
            if "familyName" in value:
                values["last_name"] = as_text("name.familyName", value["familyName"])
    elif low == "externalid":
        values["external_id"] = as_text("externalId", value, remove=remove)
    elif low == "emails":
        values["email"] = "" if remove else primary_email(value)
    elif low in EMAIL_VALUE_PATHS:
        values["email"] = as_text("emails.value", value, remove=remove)
    elif re.split(r"[.\[]", low, maxsplit=1)[0] in USER_ATTRIBUTES or low.startswith(ENTERPRISE_URN):
        pass  # an attribute of the User schemas that Closeloop does not keep (docs/users.md)
    else:
        raise bad(f"“{path}” is not an attribute of a SCIM User.", "invalidPath")


def member_ids(value) -> list[int]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise bad("“members” must be a list of objects such as {\"value\": \"42\"}.", "invalidValue")
    ids = []
    for item in value:
        raw = item.get("value")
        try:
            ids.append(int(str(raw)))
        except ValueError:
            raise bad(f"No user with id {raw!r}.", "invalidValue") from None
    return ids


def team_changes_from_patch(body: dict) -> TeamChanges:
    name = external_id = None
    members: list[int] | None = None
    add: list[int] = []
    remove: list[int] = []
    for operation in operations_of(body):
        op = operation["op"].lower()
        for path, value in _pairs(operation):
            low = path.lower()
            if low.startswith(CORE_GROUP_URN):
                low = low[len(CORE_GROUP_URN):]
            one = MEMBER_FILTER.match(path)
            if one:
                if op != "remove":
                    raise bad("A members[value eq ...] path may only be removed.", "invalidPath")
                ids = member_ids([{"value": one.group(1)}])
            elif low == "members":
                ids = [] if op == "remove" and value is None else member_ids(value)
            elif low == "displayname":
                if op == "remove":
                    raise bad("“displayName” cannot be removed.", "mutability")
                name = as_text("displayName", value)
                continue
            elif low == "externalid":
                external_id = as_text("externalId", value, remove=op == "remove")
                continue
            elif low in ("id", "schemas", "meta"):
                continue  # Okta repeats the id in a path-less replace; it cannot change
            else:
                raise bad(f"“{path}” is not an attribute of a SCIM Group.", "invalidPath")
            if op == "replace" or (op == "remove" and low == "members" and value is None):
                members, add, remove = (ids if op == "replace" else []), [], []
            elif op == "add":
                if members is not None:
                    members = members + [i for i in ids if i not in members]
                else:
                    add += ids
                    remove = [i for i in remove if i not in ids]
            else:
                if members is not None:
                    members = [i for i in members if i not in ids]
                else:
                    remove += ids
                    add = [i for i in add if i not in ids]
    return TeamChanges(name=name, external_id=external_id,
                       members=tuple(members) if members is not None else None,
                       add=tuple(add), remove=tuple(remove))
