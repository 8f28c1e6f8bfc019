"""Google Forms, through the Apps Script Closeloop ships (surveys/adapters/google_forms.gs).

Google Forms has no webhooks. The admin pastes the script into the form's Apps Script editor and
adds an "On form submit" trigger; on each response it POSTs JSON whose format is this preset:
`{"type": "google_forms.response", "form_id", "form_title", "response_id", "submitted_at",
"respondent_email", "items": [{"id", "title", "type", "value", "min"?, "max"?}]}` (item types
and answers as Apps Script's FormApp gives them: https://developers.google.com/apps-script/reference/forms).

Signature: `X-Closeloop-Timestamp: <unix seconds>` and `X-Closeloop-Signature: sha256=<hex
HMAC-SHA256(secret, "<timestamp>.<body>")>` (Apps Script's Utilities.computeHmacSha256Signature);
timestamps more than 5 minutes from now are refused. The delivery id is the response id and its
time (an edited response is delivered again, with a later time).

Metrics: by item title (surveys.adapters.answers: "recommend" -> NPS, "satisf" -> CSAT, "easy" /
"effort" -> CES) with the scale the SCALE item declares (min/max; a RATING item 1..its level);
an unnamed 0-10 SCALE item is the NPS question. Identity: an item titled "Customer ID" (a
pre-filled link carries it), then the respondent's e-mail (when the form collects e-mails), else
an item titled "Email".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime
from pathlib import Path

from django.utils.translation import gettext_lazy

from surveys.adapters.answers import (
    documented_shape,
    IDENTITY_NAMES, IDENTITY_SKIP, Answer, by_name, identity_from, is_number, pick_comment, pick_scores,
)
from surveys.adapters.assembly import assemble
from surveys.adapters.common import Ignored, SignatureError, header, is_json_type, present, text

AUTH_OPTIONS: dict[str, str] = {}
IDENTITY = gettext_lazy("An item titled Customer ID (pre-filled), then the respondent's e-mail, then an item titled Email.")
CONTENT_TYPES = ("application/json",)
TOLERANCE_SECONDS = 5 * 60
SIGNATURE_HEADER = "x-closeloop-signature"
TIMESTAMP_HEADER = "x-closeloop-timestamp"
SCRIPT = Path(__file__).with_name("google_forms.gs")


def apps_script(url: str, secret: str) -> str:
    """The Apps Script with this source's URL and secret filled in (what the set-up page shows)."""
    source = SCRIPT.read_text()
    return (source.replace("https://closeloop.example.com/webhooks/your-source-slug/", url)
            .replace("paste-the-source-secret-here", secret))


def accepts(media_type: str) -> bool:
    return is_json_type(media_type)


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify(source, body: bytes, headers: dict, now: datetime) -> None:
    timestamp, signature = header(headers, TIMESTAMP_HEADER), header(headers, SIGNATURE_HEADER)
    if not (timestamp and signature.startswith("sha256=")):
        raise SignatureError("missing X-Closeloop-Timestamp or X-Closeloop-Signature header")
    try:
        sent = int(timestamp)
    except ValueError:
        raise SignatureError("X-Closeloop-Timestamp is not a whole number of seconds") from None
    if abs(now.timestamp() - sent) > TOLERANCE_SECONDS:
        raise SignatureError("X-Closeloop-Timestamp is outside the 5-minute tolerance")
    found = False
    for secret in source.secrets:
        found |= hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.strip().lower().encode())
    if not found:
        raise SignatureError("X-Closeloop-Signature does not match")


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    if isinstance(payload, dict) and present(payload.get("response_id")):
        return f"{payload['response_id']}:{payload.get('submitted_at', '')}"[:255]
    return ""


def fetch_request(source, payload):
    return None


def answers_of(items: list) -> list[Answer]:
    answers = []
    for item in items:
        if not isinstance(item, dict):
            continue
        low, high = item.get("min"), item.get("max")
        scale = (int(low), int(high)) if is_number(low) and is_number(high) and int(low) < int(high) else None
        kind = text(item.get("type")).lower()
        kind = {"paragraph_text": "paragraph", "text": "short_text"}.get(kind, kind)
        answers.append(Answer(key=text(item.get("id")) or text(item.get("title")), title=text(item.get("title")),
                              kind=kind, value=item.get("value"), scale=scale))
    return answers


@documented_shape("the Closeloop Apps Script")
def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "", **_):
    if not isinstance(payload, dict) or payload.get("type") != "google_forms.response":
        return Ignored("not a Google Forms response from Closeloop's Apps Script")
    answers = answers_of(payload.get("items") if isinstance(payload.get("items"), list) else [])
    named = by_name(answers)
    identity = identity_from(named, IDENTITY_NAMES)
    if present(payload.get("respondent_email")):
        identity["email"] = payload["respondent_email"]
    defaults = {
        "response_id": payload.get("response_id"), "survey_id": payload.get("form_id"),
        "survey_name": payload.get("form_title"), "answered_at": payload.get("submitted_at"),
        "comment": pick_comment(answers, IDENTITY_SKIP), **identity,
    }
    return assemble(payload=payload, mapping=mapping, defaults=defaults, scores=pick_scores(answers),
                    received_at=received_at, answers=named)


def sample_body(*, response_id: str = "2_ABaOnudSample1", score: str = "3",
                comment: str = "The replacement part never arrived.") -> bytes:
    """What google_forms.gs posts for a response (FormApp values: a SCALE answer is a string)."""
    return json.dumps({
        "type": "google_forms.response", "form_id": "1FAIpQLSdSampleFormId", "form_title": "After-sales survey",
        "response_id": response_id, "submitted_at": "2025-03-01T10:00:00.000Z",
        "respondent_email": "ann@example.com",
        "items": [
            {"id": "1402938476", "title": "How likely are you to recommend us to a friend or colleague?",
             "type": "SCALE", "value": score, "min": 0, "max": 10},
            {"id": "2039485761", "title": "What is the main reason for your score?", "type": "PARAGRAPH_TEXT",
             "value": comment},
            {"id": "993847561", "title": "Customer ID", "type": "TEXT", "value": "C-1001"},
        ],
    }).encode()


def sample_delivery(source) -> tuple[str, bytes, dict]:
    body, timestamp = sample_body(), int(time.time())
    return "application/json", body, {TIMESTAMP_HEADER: str(timestamp),
                                      SIGNATURE_HEADER: sign(source.secret, timestamp, body)}
