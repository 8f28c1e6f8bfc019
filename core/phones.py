"""Phone numbers in one form, E.164 ("+442079460958"), through the `phonenumbers` library (a port
of Google's libphonenumber: the numbering plans of every country, kept up to date upstream).

A number written with its country code ("+44 20 7946 0958", "0044 20 7946 0958") is read as it
is; one written the national way ("020 7946 0958") only with a default region, the setting
CUSTOMER_PHONE_REGION (ISO 3166 code such as "GB"; empty: national numbers are not read).
Something that is not a possible number comes back as None: the caller keeps what it was given."""

from __future__ import annotations

import phonenumbers
from django.conf import settings


def to_e164(raw: str, region: str | None = None) -> str | None:
    """`raw` in E.164, or None when it is not a possible phone number (or is national and no
    region is known)."""
    raw = (raw or "").strip()
    if not raw or len(raw) > 64:
        return None
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    region = (region if region is not None else getattr(settings, "CUSTOMER_PHONE_REGION", "")) or None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalized_phone(raw: str) -> str:
    """What to store for a phone a sender gave: E.164 when it reads as a number, else as given."""
    return to_e164(raw) or (raw or "")
