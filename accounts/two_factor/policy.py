"""Who must sign in with a second factor: the roles the policy row names (cached per process
through core.process_cache, so the gate costs no query per request)."""

from __future__ import annotations

from django.conf import settings

from accounts.two_factor.models import TwoFactorPolicy
from core.process_cache import ProcessCache

POLICY_VERSION_KEY = "accounts:two_factor_policy:version"


def _load() -> frozenset[str]:
    policy = TwoFactorPolicy.objects.filter(id=1).first()
    return policy.required_roles() if policy else frozenset()


_required = ProcessCache(POLICY_VERSION_KEY, _load, what="two-factor policy",
                         check_seconds=lambda: settings.TWO_FACTOR_POLICY_CHECK_SECONDS)


def required_roles() -> frozenset[str]:
    return _required.get()


def policy_changed() -> None:
    _required.changed()


def role_requires_second_factor(user) -> bool:
    """Whether `user`'s role must use a second factor. A superuser follows the CX admin row."""
    roles = required_roles()
    return user.role in roles or (user.is_superuser and "admin" in roles)
