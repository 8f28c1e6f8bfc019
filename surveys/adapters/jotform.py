"""Jotform webhooks (https://www.jotform.com/help/245-how-to-setup-a-webhook-with-jotform/ and the
webhook section of https://api.jotform.com/docs/).

Each submission is POSTed as multipart/form-data with top-level fields (`formID`, `submissionID`,
`formTitle`, `username`, `ip`, `type`, `pretty`: "Label:Answer, Label:Answer") and `rawRequest`, a
JSON string of the answers by `q<N>_<uniqueName>` (`"q3_nps": "2"`, `"q4_email": "a@b.c"`,
`"q5_name": {"first": ..., "last": ...}`, `"q7_phone": {"full": ...}`).

Authenticity: Jotform does not sign its webhooks and cannot add headers. The webhook URL carries
the source's secret as `?token=<secret>` (only Jotform and Closeloop know that URL; it travels
over HTTPS); a request to a tool or proxy that can set headers may send it as `X-Closeloop-Token`
instead. With `auth.form_id` set, a delivery for any other form is refused too. Both are refused
with 401 like a bad signature. The delivery id is `submissionID`.

Metrics: the question's unique name (Advanced > Field Details in the form builder: name it `nps`,
`csat` or `ces`) or its label ("How likely are you to recommend...") names its metric
(surveys.adapters.answers); labels come from `pretty`. Jotform sends no scale bounds: NPS 0-10,
CSAT 1-5, CES 1-7 unless the source's mapping says `csat_scale` / `ces_scale` / `ces_direction`.
A submission whose only number is unnamed is taken for NPS; with several unnamed numbers nothing
is guessed and the delivery fails, naming the keys to map.
"""

from __future__ import annotations

import hmac
import json
import re
import uuid
from datetime import datetime

from django.utils.translation import gettext_lazy

from surveys.adapters.answers import (
    documented_shape,
    IDENTITY_NAMES, IDENTITY_SKIP, Answer, by_name, identity_from, pick_comment, pick_scores,
)
from surveys.adapters.assembly import assemble
from surveys.adapters.common import (
    FORM_TYPE, MULTIPART_TYPE, Ignored, PayloadError, SignatureError, header, parse_body, present, text,
)

AUTH_OPTIONS = {"form_id": "Jotform form id: deliveries for any other form are refused (optional)"}
IDENTITY = gettext_lazy("The question or hidden field with unique name customer_id (or user_id / external_id), then e-mail "
                        "(a field named email), then phone.")
CONTENT_TYPES = (MULTIPART_TYPE, FORM_TYPE)
TOKEN_HEADER = "x-closeloop-token"
QUESTION_KEY = re.compile(r"^q(\d+)_(.+)$")


def accepts(mt: str) -> bool:
    return mt in CONTENT_TYPES


def verify(source, body: bytes, headers: dict, now: datetime) -> None:
    token = header(headers, TOKEN_HEADER) or header(headers, "x-query-token")
    if not token or not any(hmac.compare_digest(token.encode(), s.encode()) for s in source.secrets):
        raise SignatureError("missing or wrong token (?token= in the webhook URL, or X-Closeloop-Token)")
    form_id = str((source.auth or {}).get("form_id") or "")
    if form_id:
        try:
            sent = parse_body(body, header(headers, "content-type") or MULTIPART_TYPE).get("formID", "")
        except (PayloadError, AttributeError):
            sent = ""
        if str(sent) != form_id:
            raise SignatureError(f"delivery for form {str(sent)[:40]!r}, not this source's form {form_id!r}")


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    return str(payload.get("submissionID") or "") if isinstance(payload, dict) else ""


def fetch_request(source, payload):
    return None


def _pretty_pairs(pretty: str) -> list[tuple[str, str]]:
    """`pretty` ("Label:Answer, Label:Answer") as pairs, as well as its commas allow."""
    pairs = []
    for part in re.split(r", (?=[^,:]{1,200}:)", pretty or ""):
        label, sep, value = part.partition(":")
        if sep:
            pairs.append((label.strip(), value.strip()))
    return pairs


def _flat(value):
    if isinstance(value, dict):  # name {first, last}, phone {full}, address...
        if "full" in value:
            return text(value["full"])
        return " ".join(text(v) for v in value.values() if present(v) and isinstance(v, str)).strip()
    return value


def answers_of(raw: dict, pretty: str) -> list[Answer]:
    pairs = _pretty_pairs(pretty)
    answers = []
    for key, value in raw.items():
        match = QUESTION_KEY.match(str(key))
        if not match:
            continue
        value = _flat(value)
        title = ""
        for i, (label, shown) in enumerate(pairs):
            if shown == text(value):
                title = label
                pairs.pop(i)
                break
        answers.append(Answer(key=match.group(2), title=title, kind="", value=value))
    return answers


@documented_shape("Jotform")
def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "", **_):
    if not isinstance(payload, dict) or "rawRequest" not in payload:
        return Ignored("not a Jotform submission (no rawRequest)")
    try:
        raw = json.loads(payload["rawRequest"]) if isinstance(payload["rawRequest"], str) else payload["rawRequest"]
    except ValueError as exc:
        raise PayloadError(f"Jotform rawRequest is not JSON: {exc}") from None
    raw = raw if isinstance(raw, dict) else {}
    answers = answers_of(raw, text(payload.get("pretty")))
    named = by_name(answers)
    defaults = {
        "response_id": payload.get("submissionID"), "survey_id": payload.get("formID"),
        "survey_name": payload.get("formTitle"),
        "comment": pick_comment(answers, IDENTITY_SKIP),
        **identity_from(named, IDENTITY_NAMES),
    }
    return assemble(payload=payload, mapping=mapping, defaults=defaults, scores=pick_scores(answers),
                    received_at=received_at, answers=named)


def sample_fields(*, submission_id: str = "5862417390112233445", nps: str = "3",
                  comment: str = "Nobody called me back.") -> dict:
    """The form fields of a Jotform webhook POST (the help page above; rawRequest as Jotform builds it)."""
    raw = {
        "slug": "submit/241234567890123", "q3_nps": nps, "q4_whyThis": comment, "q5_email": "ann@example.com",
        "q6_name": {"first": "Ann", "last": "Lee"}, "q7_customer_id": "C-1001", "event_id": "1709287200000_241234567890123_abc",
    }
    pretty = (f"How likely are you to recommend us to a friend?:{nps}, Why this score?:{comment}, "
              f"E-mail:ann@example.com, Name:Ann Lee, customer_id:C-1001")
    return {
        "action": "", "webhookURL": "", "username": "acme", "formID": "241234567890123", "type": "WEB",
        "customParams": "", "product": "false", "formTitle": "Support follow-up", "customTitle": "",
        "submissionID": submission_id, "event": "", "documentID": "", "teamID": "", "subject": "",
        "isSilent": "false", "customBody": "", "rawRequest": json.dumps(raw), "fromTable": "", "appID": "",
        "pretty": pretty, "unread": "", "parent": "", "ip": "203.0.113.7",
    }


def multipart(fields: dict) -> tuple[str, bytes]:
    """(content type, body) of `fields` as multipart/form-data."""
    boundary = f"----closeloop{uuid.uuid4().hex}"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
             for name, value in fields.items()]
    return f"multipart/form-data; boundary={boundary}", ("".join(parts) + f"--{boundary}--\r\n").encode()


def sample_delivery(source) -> tuple[str, bytes, dict]:
    content_type, body = multipart(sample_fields())
    return content_type, body, {TOKEN_HEADER: source.secret}
