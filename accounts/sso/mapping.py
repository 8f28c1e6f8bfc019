"""From the provider's claims to what Closeloop needs: pure functions, no database.

- sign_in_from_claims: the claims (ID token merged with userinfo) as a SignIn, or SsoRefused when a
  claim the sign-in cannot do without is missing;
- role_for: the role the person's groups give (the highest: CX admin over manager over agent);
- teams_for: which teams the mapping manages and which of them the person belongs in.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.sso.config import SsoConfig

ROLE_RANK = {Role.AGENT: 0, Role.MANAGER: 1, Role.ADMIN: 2}


class SsoRefused(Exception):
    """A sign-in the provider vouched for that Closeloop refuses. `message` is shown to the person
    on a page answered with `status`."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class SignIn:
    """What the provider says about the person signing in."""

    issuer: str
    subject: str
    email: str
    email_verified: bool
    username: str
    first_name: str
    last_name: str
    groups: tuple[str, ...]


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _truthy(value) -> bool:
    # Some providers send "true" as a string.
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def groups_from(value) -> tuple[str, ...]:
    """A groups claim: a list of names (Keycloak, Okta, Entra's object ids) or one name."""
    if isinstance(value, str):
        return (value.strip(),) if value.strip() else ()
    if isinstance(value, (list, tuple)):
        return tuple(item.strip() for item in value if isinstance(item, str) and item.strip())
    return ()


def sign_in_from_claims(claims: dict, *, issuer: str, config: SsoConfig) -> SignIn:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise SsoRefused(_("%(provider)s sent no account id (the “sub” claim).") % {"provider": config.provider_name},
                         status=400)
    email = _text(claims.get(config.email_claim))
    if not email or "@" not in email:
        raise SsoRefused(
            _("%(provider)s sent no e-mail address (the “%(claim)s” claim): ask your administrator to release it "
              "to Closeloop (scope “email”).") % {"provider": config.provider_name, "claim": config.email_claim})
    return SignIn(
        issuer=issuer or _text(claims.get("iss")),
        subject=subject.strip(),
        email=email,
        email_verified=_truthy(claims.get("email_verified")),
        username=_text(claims.get(config.username_claim)),
        first_name=_text(claims.get("given_name"))[:150],
        last_name=_text(claims.get("family_name"))[:150],
        groups=groups_from(claims.get(config.groups_claim)),
    )


def role_for(groups: tuple[str, ...], config: SsoConfig) -> str | None:
    """The role the groups give; the default role when none is mapped; None when the mapping is
    empty (roles are then set in Closeloop, not by the provider). "" : no access."""
    if not config.role_map:
        return None
    roles = [role for group in groups for role in config.role_map.get(group, ()) if role in ROLE_RANK]
    if not roles:
        return config.default_role
    return max(roles, key=ROLE_RANK.__getitem__)


def teams_for(groups: tuple[str, ...], config: SsoConfig) -> tuple[frozenset[str], frozenset[str]]:
    """(the team slugs the mapping manages, the ones of them this person belongs in). Memberships
    of teams the mapping does not name are left as CX admins set them."""
    managed = frozenset(slug for slugs in config.team_map.values() for slug in slugs)
    wanted = frozenset(slug for group in groups for slug in config.team_map.get(group, ()))
    return managed, wanted
