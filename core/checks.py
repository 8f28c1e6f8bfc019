"""System checks for production settings (`manage.py check`, and so `migrate` and the release
phase, refuse to go on when one fails). Registered by accounts' AppConfig.ready()."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error

CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"


def email_backend_check(app_configs=None, **kwargs) -> list[Error]:
    """With DEBUG off, the console e-mail backend prints every e-mail (customer names, comments,
    recovery links) into the logs. It is refused unless EMAIL_BACKEND names it explicitly."""
    if settings.DEBUG or settings.EMAIL_BACKEND != CONSOLE_BACKEND or settings.EMAIL_BACKEND_CHOSEN:
        return []
    return [Error(
        "E-mails would be printed into the logs (the console e-mail backend is the default) with DEBUG off.",
        hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST (docs/configuration.md);"
             f" to keep e-mails in the logs on purpose, set EMAIL_BACKEND={CONSOLE_BACKEND} explicitly.",
        id="closeloop.E001",
    )]
