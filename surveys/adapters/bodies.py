"""Reading a delivery's body as the sender meant it, and refusing what cannot be stored or worked
on, with a reason the sender (or the person configuring it) can act on. Pure; used by
`surveys.adapters.common.parse_body`, which turns a BodyError into a PayloadError (a 400)."""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 64


class BodyError(Exception):
    """The body cannot be read; the message says what to change."""


def charset(content_type: str) -> str:
    """The `charset` parameter of a Content-Type ("" when there is none)."""
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').strip()
    return ""


def decode(body: bytes, content_type: str, what: str = "Body") -> str:
    """The body as text, in the Content-Type's charset (UTF-8 when it names none; a byte-order
    mark is allowed)."""
    declared = charset(content_type)
    encoding = declared or "utf-8"
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    try:
        return body.decode(encoding)
    except LookupError:
        raise BodyError(f"Unknown charset {declared!r} in the Content-Type: send UTF-8 (charset=utf-8).") from None
    except UnicodeDecodeError as exc:
        raise BodyError(
            f"{what} is not valid {declared or 'UTF-8'} (byte {exc.start}: {exc.reason}): send UTF-8, or declare "
            "the body's encoding in the Content-Type (e.g. application/json; charset=latin-1)."
        ) from None


def _reject_constant(name: str):
    raise BodyError(f"JSON has {name}, which is not a number JSON allows: send null or a finite number.")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if value in (float("inf"), float("-inf")):
        raise BodyError(f"Number {literal[:40]} is too large to store (outside a 64-bit float's range).")
    return value


def parse_json(body: bytes, content_type: str) -> Any:
    """JSON bytes -> Python data. Refused (BodyError): nesting deeper than MAX_JSON_DEPTH,
    NaN/Infinity, numbers outside a 64-bit float's range, integers with more digits than Python
    converts (4,300)."""
    if not body.strip():
        raise BodyError("Empty body: expected a JSON document.")
    text = decode(body, content_type)
    try:
        payload = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        looks_like_form = "=" in text[:200] and text.lstrip()[:1] not in ("{", "[")
        hint = " (the Content-Type says JSON but the body looks form-encoded)" if looks_like_form else ""
        raise BodyError(f"Malformed JSON{hint}: {exc}") from None
    except RecursionError:
        raise BodyError(f"JSON nested too deeply (more than {MAX_JSON_DEPTH} levels).") from None
    except ValueError:  # an integer with more digits than Python converts (sys.int_info)
        raise BodyError("JSON has an integer with more than 4300 digits: send it as a string, or leave it out.") from None
    # Counting brackets is C-fast; only a document with enough of them can nest too deeply.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and json_depth(payload) > MAX_JSON_DEPTH:
        raise BodyError(f"JSON nested too deeply (more than {MAX_JSON_DEPTH} levels).")
    return payload


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (0 for a scalar), without recursion; stops
    counting past MAX_JSON_DEPTH."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children = current.values() if isinstance(current, dict) else current if isinstance(current, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest
