"""The one write of single sign-on: sso_sign_in, called by accounts.sso.backend at each sign-in.

Who the person is:
1. the user linked to this issuer and `sub` (SsoIdentity) — `sub` never changes for an account
   at the provider, while e-mail addresses do;
2. at a first sign-in, the one user with the same e-mail address, when the provider says it
   verified the address (OIDC_REQUIRE_VERIFIED_EMAIL) and that user is not linked to another
   account at this provider already; the link is stored;
3. otherwise a new user (OIDC_CREATE_USERS), with no usable password.

A deactivated user is refused (SsoRefused, 403), whatever the provider says: a CX admin or SCIM
deactivated them here. At every sign-in the role and the memberships of the teams the mapping
names are set from the groups claim (accounts.sso.mapping), so a change at the provider takes
effect at the person's next sign-in; names follow the provider too.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Role, SsoIdentity, Team, User
from accounts.sso.config import SsoConfig
from accounts.sso.mapping import SignIn, SsoRefused, role_for, teams_for

logger = logging.getLogger(__name__)

USERNAME_MAX = 150


def _free_username(sign_in: SignIn) -> str:
    """The provider's user name when it is a valid, free Closeloop user name; else the e-mail
    address; a number is added when that is taken too."""
    for candidate in (sign_in.username, sign_in.email.lower()):
        candidate = candidate[:USERNAME_MAX]
        if not candidate:
            continue
        try:
            User.username_validator(candidate)
        except Exception:  # noqa: BLE001 - a Django ValidationError: try the next candidate
            continue
        if not User.objects.filter(username__iexact=candidate).exists():
            return candidate
    base = sign_in.email.lower()[: USERNAME_MAX - 4]
    for number in range(2, 1000):
        candidate = f"{base}-{number}"
        if not User.objects.filter(username__iexact=candidate).exists():
            return candidate
    raise SsoRefused(_("No free user name could be made from your e-mail address; ask a CX admin."), status=409)


def _find_or_create(sign_in: SignIn, config: SsoConfig, role: str | None) -> tuple[User, bool]:
    identity = (SsoIdentity.objects.select_related("user").select_for_update()
                .filter(issuer=sign_in.issuer, subject=sign_in.subject).first())
    if identity is not None:
        return identity.user, False
    matches = list(User.objects.filter(email__iexact=sign_in.email)[:2])
    if len(matches) > 1:
        raise SsoRefused(_("More than one Closeloop account has the address %(email)s: ask a CX admin to change "
                           "all but one.") % {"email": sign_in.email}, status=409)
    if matches:
        user = matches[0]
        if config.require_verified_email and not sign_in.email_verified:
            raise SsoRefused(
                _("%(provider)s has not verified the address %(email)s, so it cannot be linked to the Closeloop "
                  "account with that address. Verify it at the provider and try again.")
                % {"provider": config.provider_name, "email": sign_in.email})
        if SsoIdentity.objects.filter(user=user, issuer=sign_in.issuer).exists():
            raise SsoRefused(
                _("The Closeloop account with the address %(email)s is linked to another account at %(provider)s. "
                  "Sign in with that one, or ask a CX admin.") % {"email": sign_in.email, "provider": config.provider_name},
                status=409)
        created = False
    else:
        if not config.create_users:
            raise SsoRefused(_("There is no Closeloop account for %(email)s: ask a CX admin to invite you.")
                             % {"email": sign_in.email})
        if config.require_verified_email and not sign_in.email_verified:
            raise SsoRefused(_("%(provider)s has not verified the address %(email)s: verify it there and try again.")
                             % {"provider": config.provider_name, "email": sign_in.email})
        user = User(username=_free_username(sign_in), email=sign_in.email,
                    role=role or config.default_role or Role.AGENT)
        user.set_unusable_password()
        user.save()
        created = True
    try:
        with transaction.atomic():
            SsoIdentity.objects.create(user=user, issuer=sign_in.issuer, subject=sign_in.subject)
    except IntegrityError:
        # The same account signing in twice at once: the other request linked it.
        raise SsoRefused(_("This sign-in ran at the same time as another one: sign in again."), status=409) from None
    logger.info("sso: user %s %s for issuer %s", user.pk, "created" if created else "linked", sign_in.issuer)
    return user, created


def _apply_teams(user: User, sign_in: SignIn, config: SsoConfig) -> None:
    managed, wanted = teams_for(sign_in.groups, config)
    if not managed:
        return
    teams = {team.slug: team for team in Team.objects.filter(slug__in=managed)}
    for slug in sorted(managed - teams.keys()):
        logger.warning("sso: OIDC_TEAM_MAP names team %r, which does not exist", slug)
    is_manager = user.role == Role.MANAGER
    current = {m.team_id: m for m in Membership.objects.filter(user=user, team__slug__in=managed)}
    for slug, team in teams.items():
        membership = current.get(team.pk)
        if slug in wanted and membership is None:
            Membership.objects.create(user=user, team=team, is_manager=is_manager)
        elif slug in wanted and membership.is_manager != is_manager:
            membership.is_manager = is_manager
            membership.save(update_fields=["is_manager"])
        elif slug not in wanted and membership is not None:
            membership.delete()


@transaction.atomic
def sso_sign_in(*, sign_in: SignIn, config: SsoConfig) -> User:
    """The user this sign-in is for, with role and teams as the provider's groups say now."""
    role = role_for(sign_in.groups, config)
    if role == "":
        raise SsoRefused(_("Your account at %(provider)s is in none of the groups that give access to Closeloop: "
                           "ask your administrator.") % {"provider": config.provider_name})
    user, created = _find_or_create(sign_in, config, role)
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        logger.info("sso: deactivated user %s refused", user.pk)
        raise SsoRefused(_("Your Closeloop account is deactivated: ask a CX admin to reactivate it."))
    changed = []
    if role is not None and user.role != role:
        user.role = role
        changed.append("role")
    for field in ("first_name", "last_name"):
        value = getattr(sign_in, field)
        if value and getattr(user, field) != value:
            setattr(user, field, value)
            changed.append(field)
    if (not created and user.email.lower() != sign_in.email.lower()
            and (sign_in.email_verified or not config.require_verified_email)
            and not User.objects.filter(email__iexact=sign_in.email).exclude(pk=user.pk).exists()):
        user.email = sign_in.email
        changed.append("email")
    if changed:
        user.save(update_fields=changed)
        logger.info("sso: user %s updated from %s: %s", user.pk, sign_in.issuer, ", ".join(changed))
    _apply_teams(user, sign_in, config)
    SsoIdentity.objects.filter(issuer=sign_in.issuer, subject=sign_in.subject).update(last_sign_in_at=timezone.now())
    return user
