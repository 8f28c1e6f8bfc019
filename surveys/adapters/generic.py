"""Any other tool (form builders, helpdesk CSAT triggers, a company's own scripts).

Bodies: JSON, application/x-www-form-urlencoded or multipart/form-data. Fields are picked by path
from the source's mapping (`nps=data.answers[0].value`, `comment=answers.comment`, `email=contact.email`).
Authenticity, from `source.auth`:

- {"mode": "hmac", "header": "X-Signature", "algorithm": "sha1|sha256|sha512", "encoding": "hex|base64",
   "prefix": "sha256=", "timestamp_header": "X-Timestamp", "timestamp_separator": ".",
   "tolerance_seconds": 300}   HMAC of the raw body (with "<timestamp><separator>" in front when
   timestamp_header is set; numeric timestamps further than the tolerance from now are refused);
- {"mode": "token", "token_header": "X-Webhook-Token"} for tools that sign nothing: the header must
  carry the source's secret.
Optional "delivery_id_header" / "delivery_id_path" name the sender's delivery id; without them the
SHA-256 of the body is the id (a retry repeats the same bytes).
"""

from __future__ import annotations

import hmac
from datetime import datetime

from surveys.adapters.common import (
    ALGORITHMS, FORM_TYPE, MISSING, MULTIPART_TYPE, ScoreSpec, SignatureError, assemble, body_hash, decode_signature,
    first, header, hmac_digest, is_json_type, matches_any, present, resolve, text,
)

DEFAULTS = {
    "header": "x-signature", "algorithm": "sha256", "encoding": "hex", "prefix": "", "timestamp_header": "",
    "timestamp_separator": ".", "tolerance_seconds": 300, "token_header": "x-webhook-token",
}
CONTAINERS = ("", "data.", "response.", "answers.", "fields.", "payload.")
CANDIDATES = {
    "response_id": ("response_id", "responseId", "submission_id", "submissionId", "id"),
    "survey_id": ("survey_id", "surveyId", "form_id", "formId", "survey.id", "form.id"),
    "survey_name": ("survey_name", "surveyName", "form_name", "formName", "survey.name", "form.name", "survey.title"),
    "answered_at": ("answered_at", "submitted_at", "submittedAt", "created_at", "createdAt", "timestamp", "date"),
    "comment": ("comment", "comments", "feedback", "message", "reason", "text"),
    "external_id": ("customer_id", "customerId", "external_id", "user_id", "userId", "customer.id"),
    "email": ("email", "customer_email", "customer.email", "requester.email", "contact.email"),
    "name": ("name", "customer_name", "customer.name", "requester.name", "contact.name"),
    "phone": ("phone", "customer.phone", "contact.phone"),
    "tier": ("tier", "customer.tier"), "segment": ("segment", "customer.segment"),
    "account_value": ("account_value", "customer.account_value"),
    "touchpoint": ("touchpoint",), "channel": ("channel",), "location": ("location", "store"), "region": ("region",),
}
SCORE_CANDIDATES = {"nps": ("nps", "nps_score", "recommend"), "csat": ("csat", "satisfaction", "rating"),
                    "ces": ("ces", "effort")}


def accepts(media_type: str) -> bool:
    return is_json_type(media_type) or media_type in (FORM_TYPE, MULTIPART_TYPE)


def config(source) -> dict:
    return {**DEFAULTS, **{k: v for k, v in (source.auth or {}).items() if v not in (None, "")}}


def sign(auth: dict, secret: str, body: bytes, timestamp: str = "") -> str:
    cfg = {**DEFAULTS, **auth}
    message = (f"{timestamp}{cfg['timestamp_separator']}".encode() + body) if cfg["timestamp_header"] else body
    digest = hmac_digest(secret.encode(), message, cfg["algorithm"])
    encoded = digest.hex() if cfg["encoding"] == "hex" else __import__("base64").b64encode(digest).decode()
    return cfg["prefix"] + encoded


def verify(source, body: bytes, headers: dict, now: datetime) -> None:
    cfg = config(source)
    if cfg.get("mode") == "token":
        token = header(headers, cfg["token_header"])
        if not token or not any(hmac.compare_digest(token.encode(), s.encode()) for s in source.secrets):
            raise SignatureError(f"missing or wrong token in {cfg['token_header']}")
        return
    if cfg["algorithm"] not in ALGORITHMS:
        raise SignatureError(f"source is configured with unknown algorithm {cfg['algorithm']!r}")
    value = header(headers, cfg["header"]).strip()
    prefix = cfg["prefix"]
    if not value or (prefix and not value.lower().startswith(prefix.lower())):
        raise SignatureError(f"missing or malformed {cfg['header']} header")
    received = decode_signature(value[len(prefix):], cfg["encoding"])
    message = body
    if cfg["timestamp_header"]:
        timestamp = header(headers, cfg["timestamp_header"]).strip()
        if not timestamp:
            raise SignatureError(f"missing {cfg['timestamp_header']} header")
        if timestamp.isdigit() and int(cfg["tolerance_seconds"] or 0) > 0:
            sent = int(timestamp) / (1000 if len(timestamp) > 11 else 1)
            if abs(now.timestamp() - sent) > int(cfg["tolerance_seconds"]):
                raise SignatureError("timestamp outside the tolerance")
        message = f"{timestamp}{cfg['timestamp_separator']}".encode() + body
    expected = [hmac_digest(s.encode(), message, cfg["algorithm"]) for s in source.secrets]
    if received is None or not matches_any(expected, [received]):
        raise SignatureError(f"{cfg['header']} does not match")


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    cfg = config(source)
    if cfg.get("delivery_id_header") and (value := header(headers, cfg["delivery_id_header"])):
        return value
    if cfg.get("delivery_id_path") and present(value := resolve(payload, cfg["delivery_id_path"])):
        return text(value)
    return body_hash(body)


def fetch_request(source, payload):
    return None


def _pick(payload, names) -> object:
    return first(payload, *(c + n for c in CONTAINERS for n in names))


def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "",
              fallback_response_id: str = "", **_):
    mapping = mapping or {}
    defaults = {f: _pick(payload, names) for f, names in CANDIDATES.items() if f not in mapping}
    if not present(defaults.get("response_id", MISSING)) and fallback_response_id:
        defaults["response_id"] = fallback_response_id
    if not present(defaults.get("survey_name", MISSING)):
        defaults["survey_name"] = source_name or MISSING
    scores = []
    for metric, names in SCORE_CANDIDATES.items():
        if metric not in mapping and present(value := _pick(payload, names)):
            scores.append(ScoreSpec(metric, metric, value))
    if not scores and not any(k in mapping for k in ("nps", "csat", "ces")) \
            and not any(k.startswith("score.") for k in mapping) and present(value := _pick(payload, ("score",))):
        scores.append(ScoreSpec("nps", "nps", value))
    return assemble(payload=payload, mapping=mapping, defaults=defaults, scores=scores, received_at=received_at)
