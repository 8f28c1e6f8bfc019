"""How a secret appears in an audit entry: that it is set (and, old beside new, that it changed),
never any part of its value. settings.AUDITLOG_INCLUDE_TRACKING_MODELS names it as the
`mask_callable` of every secret field (webhook secrets, vendor credentials, token digests,
passwords, chat webhook URLs)."""

from __future__ import annotations

MASK = "********"
EMPTY = ("", "None", "{}", "[]")


def mask_secret(value: str) -> str:
    return "" if value in EMPTY else MASK
