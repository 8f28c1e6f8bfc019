"""API tokens: make one (the key is returned once, never stored), list, revoke, and check a key.

Used by the API tokens page (accounts.views.tokens), the API (/api/v1/tokens/), the
create_api_token command and the DRF authentication class (accounts.authentication).

- A key is `cl_` + 8 lowercase letters/digits (the lookup id) + 43 URL-safe characters
  (secrets.token_urlsafe(32): 256 random bits). Only its first 11 characters (`prefix`) and its
  SHA-256 are stored; the secret is high-entropy, so a fast hash is enough (no password KDF), and
  the digest is compared with hmac.compare_digest.
- Keys made by DRF's authtoken before (40 hex characters) were hashed into this table by migration
  accounts 0004 with their first 8 characters as the prefix, and keep working until revoked.
- A token belongs to one person; its owner revokes it, and so may a CX admin (anyone's).
- A token has a scope: the REST API (the default), or SCIM provisioning only (/scim/v2/, made by and
  for CX admins, for the identity provider's provisioning client). Neither works at the other door.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from functools import lru_cache
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import ApiToken, User
from core.prepared import prepared_cursor, row_as

KEY_PREFIX = "cl_"
LOOKUP_LENGTH = 8
LOOKUP_ALPHABET = string.ascii_lowercase + string.digits
DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 3650
NAME_MAX = 100
# last_used_at is written at most this often per token, so a busy integration costs no write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
LEGACY_KEY_LENGTH = 40  # DRF authtoken keys: 40 hex characters


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    key: str  # shown once; not kept anywhere


class TokenRefused(Exception):
    """A key that does not authenticate. `message` is what the client is told (401)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def prefix_of(key: str) -> str:
    if key.startswith(KEY_PREFIX):
        return key[: len(KEY_PREFIX) + LOOKUP_LENGTH]
    return key[:LOOKUP_LENGTH]


def _new_key() -> str:
    lookup = "".join(secrets.choice(LOOKUP_ALPHABET) for _ in range(LOOKUP_LENGTH))
    return KEY_PREFIX + lookup + secrets.token_urlsafe(32)


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": gettext("Give the token a name that says where it is used, e.g. “CRM sync”.")})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": gettext("At most %(count)s characters.") % {"count": NAME_MAX}})
    return name


def _expiry(expires_in_days: int | None):
    if expires_in_days is None:
        return None
    if not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise ValidationError({"expires_in_days": gettext("Between 1 and %(count)s days, or empty for no expiry.") % {
            "count": MAX_EXPIRY_DAYS}})
    return timezone.now() + timedelta(days=expires_in_days)


def token_create(*, user: User, name: str, expires_in_days: int | None = DEFAULT_EXPIRY_DAYS,
                 read_only: bool = False, scope: str = ApiToken.Scope.API) -> CreatedToken:
    """A new token for `user`. The returned key is the only copy: show it once."""
    name = _clean_name(name)
    expires_at = _expiry(expires_in_days)
    if not user.is_active:
        raise ValidationError({"user": gettext("%(username)s is deactivated; reactivate the account first.") % {
            "username": user.username}})
    if scope not in ApiToken.Scope.values:
        raise ValidationError({"scope": gettext("“%(scope)s” is not a scope: choose one of %(scopes)s.") % {
            "scope": scope, "scopes": ", ".join(ApiToken.Scope.values)}})
    if scope == ApiToken.Scope.SCIM and not user.is_admin_role:
        raise ValidationError({"scope": gettext("Only CX admins may make SCIM provisioning tokens: SCIM creates and "
                                                "deactivates people.")})
    if scope == ApiToken.Scope.SCIM and read_only:
        raise ValidationError({"read_only": gettext("A SCIM provisioning token cannot be read-only: provisioning writes.")})
    for _ in range(5):  # a clash of two random lookup ids is rare; try another
        key = _new_key()
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(user=user, name=name, prefix=prefix_of(key), digest=digest(key),
                                                read_only=read_only, expires_at=expires_at, scope=scope)
        except IntegrityError:
            continue
        return CreatedToken(token=token, key=key)
    raise RuntimeError("Could not find a free token lookup id.")  # pragma: no cover


def token_list(*, user: User) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first."""
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def token_list_all() -> QuerySet[ApiToken]:
    """Everyone's tokens (for CX admins), by person then newest first."""
    return ApiToken.objects.select_related("user").order_by("user__username", "-created_at")


def may_revoke(by: User, token: ApiToken) -> bool:
    return token.user_id == by.pk or by.is_admin_role


def token_revoke(*, by: User, token_id: int) -> ApiToken:
    """Delete a token: its key stops working at once. Owner or CX admin only (PermissionDenied)."""
    token = ApiToken.objects.select_related("user").filter(pk=token_id).first()
    if token is None or not may_revoke(by, token):
        raise PermissionDenied("No such token.")
    token.delete()
    return token


WRONG_SCOPE = {
    ApiToken.Scope.API: "This token is for SCIM provisioning (/scim/v2/) only; the REST API needs an API token "
                        "from your API tokens page (/account/api-tokens/).",
    ApiToken.Scope.SCIM: "This is a REST API token; /scim/v2/ needs a SCIM provisioning token "
                         "(manage.py create_api_token <admin> --scim).",
}


def _token_with_user(prefix: str) -> ApiToken | None:
    """The token with this prefix and its user, in one statement planned once per connection
    (core.prepared): every API request runs it, and the ORM's query took longer to build than
    PostgreSQL took to answer it (0.4 of 0.9 ms)."""
    token_fields, user_fields = ApiToken._meta.concrete_fields, User._meta.concrete_fields
    with prepared_cursor() as cursor:
        cursor.execute(_token_sql(), [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    token = row_as(ApiToken, token_fields, row[:len(token_fields)])
    token.user = row_as(User, user_fields, row[len(token_fields):])
    return token


@lru_cache(maxsize=1)
def _token_sql() -> str:
    q = connection.ops.quote_name
    columns = [f"t.{q(f.column)}" for f in ApiToken._meta.concrete_fields] + [f"u.{q(f.column)}"
                                                                             for f in User._meta.concrete_fields]
    return (f"SELECT {', '.join(columns)} FROM {q(ApiToken._meta.db_table)} t JOIN {q(User._meta.db_table)} u "
            f"ON u.id = t.user_id WHERE t.prefix = %s")


def token_authenticate(key: str, *, now=None, scope: str = ApiToken.Scope.API) -> ApiToken:
    """The token a key belongs to, or TokenRefused with the sentence to answer (401). A token works
    only where its scope says (`scope`: the door being knocked on)."""
    now = now or timezone.now()
    if not key.startswith(KEY_PREFIX) and len(key) != LEGACY_KEY_LENGTH:
        raise TokenRefused("Invalid token.")
    token = _token_with_user(prefix_of(key))
    if token is None or not hmac.compare_digest(token.digest, digest(key)):
        raise TokenRefused("Invalid token.")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRefused(f"This token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC; "
                           "create a new one on your API tokens page (/account/api-tokens/).")
    if not token.user.is_active:
        raise TokenRefused("User inactive or deleted.")
    if token.scope != scope:
        raise TokenRefused(WRONG_SCOPE[scope])
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
