"""The Standard Webhooks signature scheme (https://www.standardwebhooks.com/, spec:
github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md), shared by
the presets whose senders use it: any compliant sender (surveys.adapters.standard) and Formbricks.

`webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`,
several space-separated (any one matching is enough); key = the base64-decoded part of the
`whsec_...` secret; timestamps more than 5 minutes from now are refused (replay protection)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from surveys.adapters.common import SignatureError, decode_signature, header, hmac_digest, matches_any

TOLERANCE_SECONDS = 5 * 60
SECRET_PREFIX = "whsec_"


def secret_key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw.encode()


def sign(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """The header value a Standard Webhooks sender would put (used by tests, docs and the demo)."""
    digest = hmac_digest(secret_key(secret), f"{msg_id}.{timestamp}.".encode() + body)
    return "v1," + base64.b64encode(digest).decode()


def verify(source, body: bytes, headers: dict, now: datetime) -> None:
    msg_id, timestamp, signatures = (header(headers, h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        sent = int(timestamp)
    except ValueError:
        raise SignatureError("webhook-timestamp is not a whole number of seconds") from None
    if abs(now.timestamp() - sent) > TOLERANCE_SECONDS:
        raise SignatureError("webhook-timestamp is outside the 5-minute tolerance")
    received = []
    for item in signatures.split(" "):
        version, _, value = item.partition(",")
        if version == "v1" and (decoded := decode_signature(value, "base64")):
            received.append(decoded)
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = [hmac_digest(secret_key(s), signed) for s in source.secrets]
    if not matches_any(expected, received):
        raise SignatureError("no v1 signature matches")
