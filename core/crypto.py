"""Secrets at rest: model fields whose values are encrypted in the database with a key from the
environment (cryptography's Fernet: AES-128-CBC with HMAC-SHA256, timestamped; MultiFernet for
rotation).

    CLOSELOOP_ENCRYPTION_KEYS="<new key>,<old key>"    # comma-separated, the first one encrypts

Every listed key decrypts, the first one encrypts. To rotate: put a new key first, keep the old
one after it, deploy, run `manage.py reencrypt_secrets` (each value is decrypted and encrypted
again with the first key), then drop the old key. A key is 32 random bytes, URL-safe base64:
`python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'`.

`make run` writes its own key to var/encryption.key on first start (config.embedded); the test
suite uses a fixed one; production refuses to start without one (the system check below runs on
migrate, which the release step runs before any process serves).

The fields keep Python values plain (a str, a dict): only the column holds ciphertext, so code
reading `source.secret` or `source.auth` is unchanged. An empty value is stored empty (so blank
checks still work). Ciphertext cannot be searched: never filter on these columns.
"""

from __future__ import annotations

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import models

ENV_NAME = "CLOSELOOP_ENCRYPTION_KEYS"


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(f"{ENV_NAME} is not set: secrets at rest cannot be read or written "
                                   "(docs/security.md: Encryption at rest).")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(f"{ENV_NAME}: every key must be 32 url-safe base64-encoded bytes "
                                   "(docs/security.md shows how to make one).") from None


def fernet() -> MultiFernet:
    return _fernet(tuple(getattr(settings, ENV_NAME, ()) or ()))


def encrypt(text: str) -> str:
    return fernet().encrypt(text.encode()).decode() if text else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(f"A stored secret cannot be decrypted with any key in {ENV_NAME}: the key it "
                                   "was encrypted with is missing (keep old keys listed until reencrypt_secrets "
                                   "has run).") from None


def is_encrypted(value: str) -> bool:
    """Whether `value` is a token one of the configured keys made (for migrations, never for reads)."""
    try:
        fernet().decrypt(value.encode())
    except (InvalidToken, ValueError):
        return False
    return True


class EncryptedTextField(models.TextField):
    """A str encrypted in the column."""

    def from_db_value(self, value, expression, connection):
        return value if value is None else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value is None else encrypt(value)

    def formfield(self, **kwargs):
        return super().formfield(**{"widget": forms.TextInput, **kwargs})


class EncryptedJSONField(models.TextField):
    """A JSON object encrypted in the column (whole: its keys are not searchable either)."""

    def from_db_value(self, value, expression, connection):
        return value if value is None else json.loads(decrypt(value) or "{}")

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value) if value else {}
            except ValueError:
                raise models.ValidationError("Enter valid JSON.") from None
        return value

    def get_prep_value(self, value):
        if value is None:
            return None
        return encrypt(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj))

    def formfield(self, **kwargs):
        return forms.JSONField(**{"required": not self.blank, "label": self.verbose_name.capitalize(),
                                  "help_text": self.help_text, **kwargs})


@checks.register(checks.Tags.security)
def encryption_keys_check(app_configs=None, **kwargs):
    keys = tuple(getattr(settings, ENV_NAME, ()) or ())
    if not keys:
        if settings.DEBUG or getattr(settings, "TESTING", False):
            return []
        return [checks.Error(f"{ENV_NAME} is not set.", id="closeloop.E010",
                             hint="Secrets (webhook secrets, vendor API tokens) are encrypted at rest with it. "
                                  "Set one key: docs/security.md, Encryption at rest.")]
    try:
        _fernet(keys)
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="closeloop.E011")]
    return []
