"""The single sign-on settings (config/settings/identity.py reads them from OIDC_* environment variables) as
one value the rest of accounts.sso takes in its signatures. Read per call, so a test's
override_settings applies at once."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from accounts.models import Role


@dataclass(frozen=True)
class SsoConfig:
    enabled: bool
    provider_name: str
    issuer: str
    client_id: str
    username_claim: str
    email_claim: str
    groups_claim: str
    require_verified_email: bool
    create_users: bool
    default_role: str  # "" : someone in no mapped group may not sign in
    role_map: dict[str, tuple[str, ...]]  # group -> roles
    team_map: dict[str, tuple[str, ...]]  # group -> team slugs


def sso_config() -> SsoConfig:
    return SsoConfig(
        enabled=bool(settings.OIDC_RP_CLIENT_ID),
        provider_name=settings.OIDC_PROVIDER_NAME,
        issuer=settings.OIDC_OP_ISSUER,
        client_id=settings.OIDC_RP_CLIENT_ID,
        username_claim=settings.OIDC_CLAIM_USERNAME,
        email_claim=settings.OIDC_CLAIM_EMAIL,
        groups_claim=settings.OIDC_CLAIM_GROUPS,
        require_verified_email=settings.OIDC_REQUIRE_VERIFIED_EMAIL,
        create_users=settings.OIDC_CREATE_USERS,
        default_role=settings.OIDC_DEFAULT_ROLE,
        role_map={group: tuple(roles) for group, roles in settings.OIDC_ROLE_MAP.items()},
        team_map={group: tuple(slugs) for group, slugs in settings.OIDC_TEAM_MAP.items()},
    )


def config_problems(config: SsoConfig) -> list[str]:
    """What is wrong with the role settings, in sentences (the system check closeloop.E020 shows them)."""
    problems = []
    for group, roles in config.role_map.items():
        for role in roles:
            if role not in Role.values:
                problems.append(f"OIDC_ROLE_MAP maps {group!r} to {role!r}, which is not a role "
                                f"(one of {', '.join(Role.values)}).")
    if config.default_role and config.default_role not in Role.values:
        problems.append(f"OIDC_DEFAULT_ROLE is {config.default_role!r}, which is not a role "
                        f"(one of {', '.join(Role.values)}, or empty to refuse people in no mapped group).")
    if not config.default_role and not config.role_map:
        problems.append("OIDC_DEFAULT_ROLE is empty but OIDC_ROLE_MAP names no group: nobody could sign in.")
    return problems
