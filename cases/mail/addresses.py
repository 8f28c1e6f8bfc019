"""The addresses of the two-way e-mail: a case's reply address and a team's sender address.

A case's reply address is MAIL_REPLY_ADDRESS with a token after a "+" (plus-addressing):
replies+<token>@<domain>. The token is the case id (base 36) and 20 hex digits of Django's
salted HMAC (django.utils.crypto.salted_hmac, what django.core.signing signs with) of that id
under SECRET_KEY with this module's salt: 80 bits nobody can guess without the key, checked
against SECRET_KEY_FALLBACKS too, so a key rotation keeps old replies working. Not a
signing.Signer string: its base64 signature is case-sensitive (mail systems may lowercase a
local part) and too long for the 64 characters a local part may have.

    reply_address(case_id) -> "replies+1f-3a9c...@example.com"
    case_id_from_token(token) -> int | None
    tokens_in(addresses) -> [token, ...]        # the tokens of our reply addresses among them
    team_sender(team) -> "North <north@example.com>" (or DEFAULT_FROM_EMAIL)
"""

from __future__ import annotations

import re
from email.utils import formataddr, getaddresses, parseaddr

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "closeloop.cases.mail.reply-address"
TOKEN = re.compile(r"^([0-9a-z]{1,13})-([0-9a-f]{20})$")
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = DIGITS[rest] + text
        if not number:
            return text


def _mac(value: str, secret: str) -> str:
    return salted_hmac(SALT, value, secret=secret, algorithm="sha256").hexdigest()[:20]


def token_for(case_id: int) -> str:
    value = _base36(int(case_id))
    return f"{value}-{_mac(value, settings.SECRET_KEY)}"


def case_id_from_token(token: str) -> int | None:
    """The case id a token carries, or None when it is malformed or its signature is wrong."""
    match = TOKEN.match((token or "").strip().lower())
    if not match:
        return None
    value, mac = match.groups()
    for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        if constant_time_compare(mac, _mac(value, secret)):
            return int(value, 36)
    return None


def _reply_parts() -> tuple[str, str]:
    local, _, domain = parseaddr(settings.MAIL_REPLY_ADDRESS)[1].rpartition("@")
    return local.lower(), domain.lower()


def reply_domain() -> str:
    return _reply_parts()[1] or "localhost"


def reply_address(case_id: int) -> str:
    local, domain = _reply_parts()
    return f"{local}+{token_for(case_id)}@{domain}"


def bare_reply_address() -> str:
    local, domain = _reply_parts()
    return f"{local}@{domain}"


def tokens_in(addresses) -> list[str]:
    """The tokens of our reply addresses among `addresses` (header values or bare addresses,
    in order, without repeats): local part "replies+<token>" at the reply domain."""
    local, domain = _reply_parts()
    found: list[str] = []
    for _name, address in getaddresses([a for a in addresses if a]):
        mailbox, _, at = address.strip().lower().rpartition("@")
        base, plus, token = mailbox.partition("+")
        if plus and base == local and at == domain and token and token not in found:
            found.append(token)
    return found


def is_ours(address: str) -> bool:
    """An address of ours (the reply address with or without a token): mail from it is a loop."""
    local, domain = _reply_parts()
    mailbox, _, at = parseaddr(address or "")[1].lower().rpartition("@")
    return at == domain and mailbox.partition("+")[0] == local


def team_sender(team) -> str:
    """The From of a customer e-mail: the team's address under its name, else DEFAULT_FROM_EMAIL."""
    if team is not None and team.mail_from:
        return formataddr((team.name, team.mail_from))
    return settings.DEFAULT_FROM_EMAIL
