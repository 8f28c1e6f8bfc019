"""A person's own language and time zone (accounts.preferences reads them for every page)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.preferences import language_codes, zone_names


def user_set_preferences(*, user: User, language: str, timezone: str) -> User:
    """Save `user`'s language and zone; "" for either means "the default" (browser, team)."""
    language, timezone = (language or "").strip(), (timezone or "").strip()
    problems: dict[str, list[str]] = {}
    if language and language not in language_codes():
        problems["language"] = [_("Choose one of the languages in the list.")]
    if timezone and timezone not in zone_names():
        problems["timezone"] = [_("“%(zone)s” is not a time zone: choose one from the list, "
                                  "such as Europe/Madrid.") % {"zone": timezone}]
    if problems:
        raise ValidationError(problems)
    user.language, user.timezone = language, timezone
    user.save(update_fields=["language", "timezone"])
    return user
