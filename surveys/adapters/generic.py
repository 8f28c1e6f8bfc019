"""Any other tool (form builders, helpdesk CSAT triggers, a company's own scripts).

Bodies: JSON, application/x-www-form-urlencoded or multipart/form-data. Fields are picked by path
from the source's mapping (`nps=data.answers[0].value`, `comment=answers.comment`, `email=contact.email`).
Authenticity, from `source.auth`:

- {"mode": "hmac", "header": "X-Signature", "algorithm": "sha1|sha256|sha512", "encoding": "hex|base64",
   "prefix": "sha256=", "timestamp_header": "X-Timestamp", "timestamp_separator": ".",
   "tolerance_seconds": 300}   HMAC of the raw body (with "<timestamp><separator>" in front when
   timestamp_header is set; timestamps further than the tolerance from now, or not numeric, are refused);
- {"mode": "token", "token_header": "X-Webhook-Token"} for tools that sign nothing: the header must
  carry the source's secret.
Optional "delivery_id_header" / "delivery_id_path" name the sender's delivery id; without them the
SHA-256 of the body is the id (a retry repeats the same bytes).

Any other key, an unknown mode, algorithm or encoding is refused when the source is saved
(`auth_problems`, called by surveys.services.sources): never silently replaced by a default.
An empty `prefix` or `timestamp_separator` means exactly that (Zendesk signs timestamp + body).
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import time
import uuid
from datetime import UTC, datetime

from django.utils.translation import gettext_lazy

from surveys.adapters.assembly import CES_DIRECTIONS, METRIC_DEFAULT_SCALES, SCORE_DIRECTIONS, ScoreSpec, assemble
from surveys.adapters.common import (
    ALGORITHMS, FORM_TYPE, MISSING, MULTIPART_TYPE, SignatureError, body_hash, decode_signature, first, header,
    hmac_digest, is_json_type, matches_any, parse_scale, parse_value_map, present, resolve, text,
)
from surveys.adapters.picking import PathSyntaxError, path_tokens

AUTH_OPTIONS = {
    "mode": "hmac (default: an HMAC of the body in a header) or token (the secret itself in a header)",
    "header": "hmac: the header carrying the signature (default X-Signature)",
    "algorithm": "hmac: sha1, sha256 (default) or sha512",
    "encoding": "hmac: hex (default) or base64",
    "prefix": "hmac: text before the signature, e.g. sha256= (default none)",
    "timestamp_header": "hmac: a header whose timestamp is signed in front of the body (default none)",
    "timestamp_separator": "hmac: what joins timestamp and body in the signed text (default: a dot; may be empty)",
    "tolerance_seconds": "hmac: refuse timestamps further than this from now, or not numeric (default 300; 0 = no check)",
    "token_header": "token: the header carrying the secret (default X-Webhook-Token)",
    "delivery_id_header": "a header with the sender's delivery id (default: the body's SHA-256)",
    "delivery_id_path": "a path in the body to the sender's delivery id",
}
IDENTITY = gettext_lazy("The mapped external_id (else customer_id, external_id or user_id in the body), then the mapped "
                        "e-mail (else email or customer.email).")
MODES = ("hmac", "token")
HMAC_ONLY = ("header", "algorithm", "encoding", "prefix", "timestamp_header", "timestamp_separator",
             "tolerance_seconds")
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
KEEP_EMPTY = ("prefix", "timestamp_separator")  # empty is a value here, not "use the default"

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


# What the set-up page and /api/v1/webhook-formats/ list; `accepts` also takes any other JSON type (+json).
CONTENT_TYPES = ("application/json", FORM_TYPE, MULTIPART_TYPE)


def accepts(media_type: str) -> bool:
    return is_json_type(media_type) or media_type in (FORM_TYPE, MULTIPART_TYPE)


def config(source) -> dict:
    auth = source.auth or {}
    return {**DEFAULTS, **{k: v for k, v in auth.items() if v is not None and (v != "" or k in KEEP_EMPTY)}}


def auth_problems(auth: dict) -> dict[str, list[str]]:
    """Values of known auth options that would not work, by option (unknown options are refused
    by surveys.services.sources from AUTH_OPTIONS)."""
    problems: dict[str, list[str]] = {}
    mode = auth.get("mode", "hmac") or "hmac"
    if mode not in MODES:
        problems["mode"] = [f"{mode!r} is not a mode: write hmac or token."]
    if auth.get("algorithm") not in (None, "") and auth["algorithm"] not in ALGORITHMS:
        problems["algorithm"] = [f"{auth['algorithm']!r} is not an algorithm: write sha1, sha256 or sha512."]
    if auth.get("encoding") not in (None, "") and auth["encoding"] not in ("hex", "base64"):
        problems["encoding"] = [f"{auth['encoding']!r} is not an encoding: write hex or base64."]
    if auth.get("tolerance_seconds") not in (None, ""):
        raw = str(auth["tolerance_seconds"]).strip()
        if not (raw.isascii() and raw.isdigit()):
            problems["tolerance_seconds"] = [f"{auth['tolerance_seconds']!r} is not a whole number of seconds."]
    for name in ("header", "timestamp_header", "token_header", "delivery_id_header"):
        value = auth.get(name)
        if value not in (None, "") and not HEADER_NAME.match(str(value)):
            problems[name] = [f"{value!r} is not a header name (letters, digits and dashes, e.g. X-Signature)."]
    if auth.get("delivery_id_path") not in (None, ""):
        try:
            path_tokens(str(auth["delivery_id_path"]))
        except PathSyntaxError as exc:
            problems["delivery_id_path"] = [f"Path {auth['delivery_id_path']!r}: {exc}"]
    if mode == "token":
        for name in HMAC_ONLY:
            if auth.get(name) not in (None, ""):
                problems.setdefault(name, []).append(f"{name} applies to mode hmac only; this source uses mode token.")
    elif auth.get("token_header") not in (None, ""):
        problems.setdefault("token_header", []).append("token_header applies to mode token only; set mode=token or "
                                                       "remove it.")
    return problems


def sign(auth: dict, secret: str, body: bytes, timestamp: str = "") -> str:
    cfg = {**DEFAULTS, **auth}
    message = (f"{timestamp}{cfg['timestamp_separator']}".encode() + body) if cfg["timestamp_header"] else body
    digest = hmac_digest(secret.encode(), message, cfg["algorithm"])
    encoded = digest.hex() if cfg["encoding"] == "hex" else base64.b64encode(digest).decode()
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
        if int(cfg["tolerance_seconds"] or 0) > 0:
            if not (timestamp.isascii() and timestamp.isdigit()):
                # A window that a non-numeric value could skip is no window: refuse it.
                raise SignatureError(f"{cfg['timestamp_header']} is not a Unix time (seconds or milliseconds)")
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
              fallback_response_id: str = "", unsolicited: bool = False, **_):
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
    return assemble(payload=payload, mapping=mapping, defaults=defaults, scores=scores, received_at=received_at,
                    scores_required=not unsolicited)


# --- a test delivery ---------------------------------------------------------------------------

SAMPLE_COMMENT = "Test delivery from the Closeloop set-up page: the checkout kept failing."


def sample_delivery(source) -> tuple[str, bytes, dict]:
    """A JSON delivery shaped by the source's mapping (every mapped path filled in), with the
    lowest answer on the mapped scale (its value-map label when there is one) so it opens a case,
    signed as the source's auth says. Each call is a new response."""
    mapping = source.mapping or {}
    unique = uuid.uuid4().hex[:12]
    values = {
        "response_id": f"test-{unique}", "survey_id": "setup-test", "survey_name": "Set-up test",
        "answered_at": datetime.now(UTC).isoformat(timespec="seconds"), "comment": SAMPLE_COMMENT,
        "external_id": "setup-test-customer", "email": "setup-test@example.com", "name": "Set-up Test",
        "touchpoint": "set-up test",
    }
    scores = {metric: _lowest(mapping, metric) for metric in ("nps", "csat", "ces") if metric in mapping}
    scores.update({key: _lowest(mapping, key) for key in mapping if key.startswith("score.") and key.count(".") == 1})
    if not scores:
        scores = {"nps": 2}
    payload: dict = {}
    for field, value in list(values.items()) + list(scores.items()):
        spec = mapping.get(field)
        if spec is None:
            if field in CANDIDATES or field in SCORE_CANDIDATES:
                payload.setdefault(field, value)
            continue
        if isinstance(spec, str) and not spec.startswith("="):
            _place(payload, spec, value)
    for key, spec in mapping.items():
        if key.startswith("attr.") and isinstance(spec, str) and not spec.startswith("="):
            _place(payload, spec, "sample")
    if config(source).get("delivery_id_path"):
        _place(payload, config(source)["delivery_id_path"], f"test-{unique}")
    body = json.dumps(payload).encode()
    return "application/json", body, _sample_headers(source, body, unique)


def _lowest(mapping: dict, key: str):
    """The answer with the most negative meaning on the question's scale, as the tool would send it."""
    metric = key if key in ("nps", "csat", "ces") else "custom"
    prefix = f"{key}_" if metric != "custom" else f"{key}."
    low, high = (0, 10) if metric == "nps" else parse_scale(mapping.get(f"{prefix}scale"), METRIC_DEFAULT_SCALES[metric])
    if metric == "ces":
        good_high = CES_DIRECTIONS.get(str(mapping.get("ces_direction", "")).strip().lower(), True)
    else:
        good_high = SCORE_DIRECTIONS.get(str(mapping.get(f"{prefix}direction", "")).strip().lower(), True)
    worst = low if good_high else high
    if f"{prefix}values" in mapping:
        labels = parse_value_map(mapping[f"{prefix}values"])
        for label, number in labels.items():
            if number == worst:
                return label
    return worst


def _place(payload: dict, path: str, value) -> None:
    """Write `value` where `path` would read it, creating dicts, lists and selected elements
    (a path that cannot hold it beside what is already there is left out)."""
    try:
        tokens = path_tokens(path)
    except PathSyntaxError:
        return
    current = payload
    for position, token in enumerate(tokens):
        nxt = tokens[position + 1] if position + 1 < len(tokens) else None
        fresh = value if nxt is None else [] if nxt[0] == "select" or nxt[1].isdigit() else {}
        if token[0] == "select":
            if not isinstance(current, list):
                return
            item: dict = {}
            _place(item, token[1], token[2])
            current.append(item)
            current = item
            if nxt is None:
                return
            continue
        name = token[1]
        if isinstance(current, list) and name.isdigit():
            while len(current) <= int(name):
                current.append({})
            if nxt is None or not isinstance(current[int(name)], (dict, list)) or current[int(name)] == {}:
                current[int(name)] = fresh
            current = current[int(name)]
        elif isinstance(current, dict):
            if nxt is None or not isinstance(current.get(name), (dict, list)):
                current[name] = fresh
            current = current[name]
        else:
            return


def _sample_headers(source, body: bytes, unique: str) -> dict:
    cfg = config(source)
    headers: dict = {}
    if cfg.get("mode") == "token":
        headers[cfg["token_header"]] = source.secret
    else:
        timestamp = str(int(time.time())) if cfg["timestamp_header"] else ""
        if timestamp:
            headers[cfg["timestamp_header"]] = timestamp
        headers[cfg["header"]] = sign(cfg, source.secret, body, timestamp)
    if cfg.get("delivery_id_header"):
        headers[cfg["delivery_id_header"]] = f"test-{unique}"
    return headers
