"""`manage.py check` (and so `migrate` and the release phase) refuses role settings of single
sign-on that would misfile people (accounts.sso.config.config_problems)."""

from __future__ import annotations

from django.core.checks import Error

from accounts.sso.config import config_problems, sso_config


def sso_settings_check(app_configs=None, **kwargs) -> list[Error]:
    config = sso_config()
    if not config.enabled:
        return []
    return [Error(problem, hint="docs/configuration.md, Single sign-on", id="closeloop.E020")
            for problem in config_problems(config)]
