"""Helpers of the two-factor tests: an authenticator set up through the product's own service,
and the code an authenticator app would show (django-otp's TOTP, from the device's key)."""

from __future__ import annotations

import datetime as dt
import time
from base64 import b32decode

from django.urls import reverse
from django_otp.oath import TOTP

from tests.factories import PASSWORD

# The fixed clock of these tests (time-machine): a whole 30-second step, so "now" and "a second
# later" show the same code.
T0 = dt.datetime(2026, 12, 4, 9, 0, 0, tzinfo=dt.timezone.utc)


def code_at(key: bytes, when: float, *, step: int = 30) -> str:
    totp = TOTP(key, step=step)
    totp.time = when
    return f"{totp.token():06d}"


def code_for(device, *, later: float = 0.0) -> str:
    """The 6 digits `device`'s app shows now (plus `later` seconds)."""
    return code_at(device.bin_key, time.time() + later, step=device.step)


def code_from_manual_key(manual_key: str, *, later: float = 0.0) -> str:
    """What an app that was given the key shown on the set-up page shows now."""
    key = manual_key.replace(" ", "")
    key += "=" * (-len(key) % 8)
    return code_at(b32decode(key), time.time() + later)


def set_up_authenticator(user, clock):
    """An authenticator confirmed through accounts.two_factor.services, as the set-up page does,
    five minutes before T0 (so every code from T0 on is unused); the clock is left at T0.
    Returns (device, backup codes)."""
    from accounts.two_factor import services

    clock.move_to(T0 - dt.timedelta(minutes=5), tick=False)
    device = services.enrolment_device(user)
    device, codes = services.enrolment_confirm(user=user, code=code_for(device))
    clock.move_to(T0, tick=False)
    return device, codes


def password_step(client, username: str, *, next_url: str = ""):
    url = reverse("login") + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"username": username, "password": PASSWORD})


def code_step(client, code: str):
    return client.post(reverse("accounts:two_factor_code"), {"code": code})


def require_for(by, *, agents=False, managers=False, admins=False):
    from accounts.two_factor.services import policy_update

    return policy_update(by=by, agents=agents, managers=managers, admins=admins)
