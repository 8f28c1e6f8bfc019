"""What two-factor sign-in announces, for whoever keeps a record (an audit trail): sent after the
change is committed, with a `SecondFactorChange`."""

from __future__ import annotations

from dataclasses import dataclass

from django.dispatch import Signal


@dataclass(frozen=True)
class SecondFactorChange:
    """`action` is "enrolled", "removed", "backup_codes_regenerated", "reset" (by an admin: `by`
    differs from `user_id`) or "policy_changed" (`user_id` None, `detail` the required roles)."""

    action: str
    by_id: int | None
    user_id: int | None
    detail: str = ""


# Receivers get `change=SecondFactorChange(...)`.
second_factor_changed = Signal()
