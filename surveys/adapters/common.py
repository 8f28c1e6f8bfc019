"""What every adapter shares: body parsing, HMAC checks, paths into payloads, reading picked
values (text, numbers, dates, scales) and the fetching presets' settings. Pure functions only;
turning picked values into a NormalizedResponse is surveys.adapters.assembly."""

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
