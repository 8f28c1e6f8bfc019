"""What every adapter shares: body parsing, HMAC checks, paths into payloads, and turning
picked values into a validated NormalizedResponse. Pure functions only."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from surveys.adapters.bodies import BodyError, decode, parse_json
from surveys.adapters.picking import MISSING, UnknownLabel, apply_value_map, parse_value_map, resolve  # noqa: F401
from surveys.normalized import CustomerIdentity, NormalizedResponse, Score


class SignatureError(Exception):
    """The delivery is not authentic (401). The message is for logs, never for the sender."""


class PayloadError(Exception):
    """Signed but unreadable (400): the message is the parser's reason."""


class MappingError(Exception):
    """The payload maps to nothing usable; the message tells a person what to fix."""


@dataclass(frozen=True)
class Ignored:
    """A genuine delivery that carries no response to record (an unsubscribe, a partial response)."""

    reason: str


@dataclass(frozen=True)
class FetchRequest:
    """A GET the worker makes to complete a thin webhook (never inside the request)."""

    url: str
    headers: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    key: str = "response"
    # A survey definition is the same for every response of a survey: when cache_key is set the
    # worker keeps the answer in the Django cache for cache_seconds (surveys.vendor_api).
    cache_key: str = ""
    cache_seconds: int = 0


# --- Bodies -------------------------------------------------------------------------------

JSON_TYPES = ("application/json", "text/json")
FORM_TYPE = "application/x-www-form-urlencoded"
MULTIPART_TYPE = "multipart/form-data"


def media_type(content_type: str) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json_type(mt: str) -> bool:
    return mt in JSON_TYPES or (mt.startswith("application/") and mt.endswith("+json"))


def parse_body(body: bytes, content_type: str) -> Any:
    """JSON, form-encoded or multipart bytes -> Python data. Raises PayloadError with a reason the
    sender (or the person configuring it) can act on.

    - A `charset` parameter is honoured (`application/json; charset=latin-1`); without one the
      body is UTF-8 (surveys.adapters.bodies).
    - A body labelled form-encoded or multipart that is a JSON document is read as JSON: senders
      that post a JSON string without setting a content type (Google Apps Script's UrlFetchApp,
      hand-written scripts) label it `application/x-www-form-urlencoded`.
    - JSON that cannot be stored or worked on is refused here, before the 2xx: nesting deeper
      than 64 levels, NaN/Infinity, numbers outside a 64-bit float's range, integers of more
      than 4,300 digits."""
    mt = media_type(content_type)
    try:
        if mt in (FORM_TYPE, MULTIPART_TYPE) and body.lstrip()[:1] in (b"{", b"["):
            try:
                return parse_json(body, content_type)
            except BodyError:
                pass  # not JSON after all: read it as the form it says it is
        if mt == FORM_TYPE:
            return _flatten_pairs(parse_qsl(decode(body, content_type, "Form body"), keep_blank_values=True))
        if mt == MULTIPART_TYPE:
            return _parse_multipart(body, content_type)
        return parse_json(body, content_type)
    except BodyError as exc:
        raise PayloadError(str(exc)) from None


def _flatten_pairs(pairs) -> dict:
    data: dict = {}
    for key, value in pairs:
        if key in data:
            data[key] = (data[key] if isinstance(data[key], list) else [data[key]]) + [value]
        else:
            data[key] = value
    return data


def _parse_multipart(body: bytes, content_type: str) -> dict:
    from django.core.files.uploadhandler import MemoryFileUploadHandler
    from django.http.multipartparser import MultiPartParser, MultiPartParserError

    meta = {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body))}
    try:
        fields, _files = MultiPartParser(meta, io.BytesIO(body), [MemoryFileUploadHandler()], "utf-8").parse()
    except MultiPartParserError as exc:
        raise PayloadError(f"Malformed multipart body: {exc}") from None
    return _flatten_pairs([(k, v) for k, values in fields.lists() for v in values])


# --- Signatures ---------------------------------------------------------------------------

ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def hmac_digest(key: bytes, message: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(key, message, ALGORITHMS[algorithm]).digest()


def decode_signature(value: str, encoding: str) -> bytes | None:
    value = value.strip()
    try:
        if encoding == "hex":
            return bytes.fromhex(value)
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (ValueError, binascii.Error):
        return None


def matches_any(expected: list[bytes], received: list[bytes]) -> bool:
    """Constant-time comparison of every candidate (no early exit on the first match)."""
    found = False
    for e in expected:
        for r in received:
            found |= hmac.compare_digest(e, r)
    return found


def header(headers: dict, name: str) -> str:
    return headers.get(name.lower(), "")


def body_hash(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()[:40]


# --- Paths --------------------------------------------------------------------------------

def lookup(spec: str, payload: Any, answers: dict | None = None) -> Any:
    """A mapping value: `=literal`, a question key of the vendor's answers, or a path."""
    if not isinstance(spec, str) or not spec:
        return MISSING
    if spec.startswith("="):
        return spec[1:]
    if answers and spec in answers:
        return answers[spec]
    return resolve(payload, spec)


def first(payload: Any, *paths: str) -> Any:
    for path in paths:
        value = resolve(payload, path)
        if present(value):
            return value
    return MISSING


def present(value: Any) -> bool:
    return value is not MISSING and value is not None and value != "" and value != []


def text(value: Any) -> str:
    if not present(value):
        return ""
    if isinstance(value, list):
        return ", ".join(text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# --- Values -------------------------------------------------------------------------------


def to_decimal(value: Any, label: str) -> Decimal:
    if isinstance(value, bool):
        raise MappingError(f"{label} is {value!r}, not a number.")
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise MappingError(
            f"{label} is {text(value)[:60]!r}, not a number: map a numeric question, or fix the form so it sends digits."
        ) from None
    if not number.is_finite():
        raise MappingError(f"{label} is {value!r}, not a number.")
    return number


def to_datetime(value: Any, label: str = "answered_at") -> datetime | None:
    if not present(value):
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and re.fullmatch(r"\d{9,13}(\.\d+)?", value.strip())):
        seconds = float(value)
        if seconds > 1e11:  # milliseconds
            seconds /= 1000
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(value, str):
        from django.utils.dateparse import parse_date, parse_datetime

        raw = value.strip().replace(" UTC", "+00:00")
        try:
            parsed = parse_datetime(raw)
            if parsed is None and (day := parse_date(raw)):
                parsed = datetime(day.year, day.month, day.day)
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise MappingError(f"{label} is {text(value)[:60]!r}: expected an ISO 8601 date-time or a Unix timestamp.")



def first_datetime(*candidates: Any) -> str | object:
    """The first candidate that reads as a date-time, in ISO 8601, else MISSING (the receipt time)."""
    for value in candidates:
        try:
            parsed = to_datetime(value)
        except MappingError:
            continue
        if parsed is not None:
            return parsed.isoformat()
    return MISSING

def parse_scale(value: Any, default: tuple[int, int]) -> tuple[int, int]:
    if not present(value):
        return default
    match = re.fullmatch(r"\s*(-?\d+)\s*(?:-|\.\.|to|,)\s*(-?\d+)\s*", str(value))
    if not match:
        raise MappingError(f"Scale {value!r} is not like '1-5'.")
    low, high = int(match.group(1)), int(match.group(2))
    if low >= high:
        raise MappingError(f"Scale {value!r}: the lowest value must be below the highest.")
    return low, high


# --- Assembly -----------------------------------------------------------------------------

METRIC_DEFAULT_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "custom": (0, 10)}
METRIC_LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "custom": "Score"}
TEXT_FIELDS = ("response_id", "survey_id", "survey_name", "comment", "touchpoint", "channel", "location", "region")
CUSTOMER_FIELDS = ("external_id", "email", "name", "phone", "tier", "segment", "account_value")
MAPPING_KEYS = (
    TEXT_FIELDS + CUSTOMER_FIELDS + ("answered_at", "nps", "csat", "csat_scale", "ces", "ces_scale", "ces_direction")
    + ("nps_values", "csat_values", "ces_values")
)
# How a direction is written -> is the highest answer the best (the easiest, for CES)?
CES_DIRECTIONS = {"high_is_easy": True, "higher_is_better": True, "low_is_easy": False, "lower_is_better": False}
SCORE_DIRECTIONS = {"high_is_better": True, "higher_is_better": True, "low_is_better": False, "lower_is_better": False}
SCORE_SUFFIXES = ("scale", "direction", "values")


@dataclass
class ScoreSpec:
    metric: str
    key: str
    raw: Any
    scale: tuple[int, int] | None = None
    higher_is_better: bool = True


def mapping_problems(mapping: Any) -> dict[str, list[str]]:
    """What is wrong with a mapping, by mapping key ("" for the mapping as a whole); empty when
    it is usable. Every message says what to write instead."""
    from surveys.adapters.picking import PathSyntaxError, path_tokens

    if not isinstance(mapping, dict):
        return {"": ["The mapping must be a JSON object of field -> path."]}
    problems: dict[str, list[str]] = {}

    def add(key: str, message: str) -> None:
        problems.setdefault(key, []).append(message)

    for key, value in mapping.items():
        parts = str(key).split(".")
        if parts[0] == "score" and len(parts) in (2, 3) and parts[1] and (len(parts) == 2 or parts[2] in SCORE_SUFFIXES):
            kind = parts[2] if len(parts) == 3 else "path"
            if kind != "path" and f"score.{parts[1]}" not in mapping:
                add(key, f"score.{parts[1]} is not mapped: map the question first (score.{parts[1]}=<path>).")
        elif parts[0] == "attr" and len(parts) >= 2 and all(parts[1:]):
            kind = "path"
        elif key in MAPPING_KEYS:
            kind = key.rsplit("_", 1)[1] if key.endswith(("_scale", "_values", "_direction")) else "path"
        else:
            add(key, f"Unknown mapping key {key!r}: use one of {', '.join(MAPPING_KEYS)}, score.<key>[.scale|.direction"
                     "|.values] or attr.<name>.")
            continue
        if kind == "values":
            try:
                parse_value_map(value)
            except ValueError as exc:
                add(key, f"The value map {exc}")
            continue
        if not isinstance(value, str) or not value.strip():
            add(key, "Must be a non-empty path or =literal.")
        elif kind == "scale":
            try:
                parse_scale(value, (0, 10))
            except MappingError as exc:
                add(key, str(exc))
        elif kind == "direction":
            allowed = CES_DIRECTIONS if key == "ces_direction" else SCORE_DIRECTIONS
            if value.strip().lower() not in allowed:
                add(key, f"{value!r} is not a direction: write {' or '.join(list(allowed)[::2])}.")
        elif not value.startswith("="):
            try:
                path_tokens(value)
            except PathSyntaxError as exc:
                add(key, f"Path {value!r}: {exc}")
    return problems


def validate_mapping(mapping: Any) -> list[str]:
    """Problems with a mapping, as sentences that start with the mapping key they are about
    (empty when it is usable). Every door that saves a mapping calls this (surveys.services.sources)."""
    return [f"{key}: {message}" if key else message
            for key, messages in mapping_problems(mapping).items() for message in messages]


def mapped_value(raw: Any, mapping: dict, values_key: str, label: str) -> Any:
    """`raw` through the mapping's value map `values_key` (if any): a text answer -> its number."""
    if values_key not in mapping or raw is MISSING:
        return raw
    value_map = parse_value_map(mapping[values_key])
    try:
        return apply_value_map(raw, value_map)
    except UnknownLabel as exc:
        raise MappingError(f"{label} answer {str(exc)!r} is not in {values_key} ({', '.join(value_map)}): add it to "
                           "the value map, or map a numeric question.") from None


def build_scores(defaults: list[ScoreSpec], mapping: dict, payload: Any, answers: dict | None) -> list[ScoreSpec]:
    by_key = {spec.key: spec for spec in defaults}
    for metric in ("nps", "csat", "ces"):
        if metric in mapping:
            by_key[metric] = ScoreSpec(metric, metric, lookup(mapping[metric], payload, answers))
        if metric in by_key and metric != "nps" and f"{metric}_scale" in mapping:
            by_key[metric].scale = parse_scale(mapping[f"{metric}_scale"], METRIC_DEFAULT_SCALES[metric])
        if metric in by_key:
            by_key[metric].raw = mapped_value(by_key[metric].raw, mapping, f"{metric}_values", METRIC_LABELS[metric])
    if "ces" in by_key and "ces_direction" in mapping:
        by_key["ces"].higher_is_better = CES_DIRECTIONS.get(mapping["ces_direction"].strip().lower(), True)
    for key, spec in mapping.items():
        parts = key.split(".")
        if parts[0] == "score" and len(parts) == 2:
            raw = mapped_value(lookup(spec, payload, answers), mapping, f"{key}.values", f"Score {parts[1]!r}")
            by_key[parts[1]] = ScoreSpec("custom", parts[1], raw, parse_scale(mapping.get(f"{key}.scale"), (0, 10)))
            direction = mapping.get(f"score.{parts[1]}.direction", "")
            by_key[parts[1]].higher_is_better = SCORE_DIRECTIONS.get(direction.strip().lower(), True)
    return list(by_key.values())


def finalize_score(spec: ScoreSpec) -> Score | None:
    if not present(spec.raw):
        return None
    scale = spec.scale or METRIC_DEFAULT_SCALES[spec.metric]
    label = METRIC_LABELS[spec.metric] if spec.metric != "custom" else f"Score {spec.key!r}"
    value = to_decimal(spec.raw, f"{label} answer")
    if not scale[0] <= value <= scale[1]:
        raise MappingError(f"{label} {value} is outside its {scale[0]}–{scale[1]} scale: check the mapped question and its scale.")
    if spec.metric == "nps" and value != value.to_integral_value():
        raise MappingError(f"NPS {value} is not a whole number from 0 to 10.")
    return Score(spec.metric, spec.key, value, scale[0], scale[1], spec.higher_is_better)


def assemble(
    *,
    payload: Any,
    mapping: dict,
    defaults: dict,
    scores: list[ScoreSpec],
    received_at: datetime,
    answers: dict | None = None,
    attributes: dict | None = None,
    customer_attributes: dict | None = None,
    scores_required: bool = True,
) -> NormalizedResponse:
    """Vendor defaults overridden by the source's mapping -> a validated NormalizedResponse.
    `scores_required=False` (a source of feedback nobody asked for): a text alone will do."""
    mapping = mapping or {}

    def pick(name: str) -> Any:
        if name in mapping:
            return lookup(mapping[name], payload, answers)
        return defaults.get(name, MISSING)

    specs = build_scores(scores, mapping, payload, answers)
    final = tuple(s for s in (finalize_score(spec) for spec in specs) if s is not None)
    if not final and not scores_required:
        if not text(pick("comment")).strip():
            raise MappingError("Neither a rating nor a text: feedback needs at least one. Map comment=<path> to the "
                               "text (and a score, e.g. csat=<path> for a star rating) in the source's mapping.")
    elif not final:
        seen = ", ".join(sorted(answers)[:12]) if answers else ", ".join(_keys(payload)[:12])
        raise MappingError(
            "No score found: nothing in this delivery maps to NPS, CSAT, CES or another numeric question. "
            f"Keys seen: {seen or 'none'}. Map one in the source's mapping (e.g. nps=<path>)."
        )
    response_id = text(pick("response_id"))
    if not response_id:
        raise MappingError("No response id: map response_id to the field that identifies the response.")
    answered_at = to_datetime(pick("answered_at")) or received_at
    attrs = dict(attributes or {})
    for key, spec in mapping.items():
        if key.startswith("attr."):
            value = lookup(spec, payload, answers)
            if present(value):
                attrs[key[5:]] = value
    account_value = pick("account_value")
    account_value = to_decimal(account_value, "Account value") if present(account_value) else None
    email = text(pick("email")).strip()
    customer = CustomerIdentity(
        external_id=text(pick("external_id"))[:255],
        email=email if "@" in email else "",
        name=text(pick("name"))[:255],
        phone=text(pick("phone"))[:64],
        tier=text(pick("tier"))[:60],
        segment=text(pick("segment"))[:60],
        account_value=account_value,
        attributes=dict(customer_attributes or {}),
    )
    return NormalizedResponse(
        response_id=response_id[:255],
        survey_id=(text(pick("survey_id")) or "default")[:255],
        survey_name=(text(pick("survey_name")) or text(pick("survey_id")) or "Survey")[:255],
        answered_at=answered_at,
        scores=final,
        customer=customer,
        comment=text(pick("comment")),
        touchpoint=text(pick("touchpoint"))[:120],
        channel=text(pick("channel"))[:60],
        location=text(pick("location"))[:120],
        region=text(pick("region"))[:120],
        attributes=attrs,
    )


def _keys(payload: Any, prefix: str = "") -> list[str]:
    if not isinstance(payload, dict):
        return []
    keys = []
    for k, v in payload.items():
        keys.append(prefix + str(k))
        if isinstance(v, dict) and len(keys) < 40:
            keys.extend(_keys(v, f"{prefix}{k}."))
    return keys


def guess_metric(key: str) -> str | None:
    """A question key or title that names its metric (used only when nothing is mapped)."""
    k = key.lower()
    if re.search(r"\bnps\b|nps|recommend", k):
        return "nps"
    if re.search(r"csat|satisf", k):
        return "csat"
    if re.search(r"\bces\b|effort|easy", k):
        return "ces"
    return None


# --- Shared tokens and vendor API settings (fetching presets) -------------------------------


def shared_token_matches(source, headers: dict, header_name: str) -> bool:
    """For tools that sign nothing: the source's secret (or the previous one during a rotation)
    in the header `header_name`, or as ?token= in the URL (the doors pass it as x-query-token).
    Constant-time over every candidate."""
    token = header(headers, header_name) or header(headers, "x-query-token")
    if not token:
        return False
    return matches_any([s.encode() for s in source.secrets], [token.encode()])


def api_settings(source, default_base: str, vendor: str) -> tuple[str, str]:
    """(api_base without a trailing slash, api_token) from source.auth, the two names every
    fetching preset uses; MappingError naming what to set when the token is missing."""
    auth = source.auth or {}
    base = str(auth.get("api_base") or default_base or "").rstrip("/")
    token = str(auth.get("api_token") or "")
    if not base or not token:
        raise MappingError(f"This {vendor} source receives thin notifications and must fetch each response: "
                           "set auth.api_token (and auth.api_base for another data centre).")
    return base, token


def definition_cache_key(source, vendor: str, survey_id: str) -> str:
    """One cache entry per source and survey: two sources with different tokens never share one."""
    return f"{vendor}:{getattr(source, 'pk', None) or getattr(source, 'slug', '')}:{survey_id}"
