"""How a mapping picks a value out of a payload: paths (with selectors by question id, ref or
title) and value maps (answer text -> number). Pure functions; no imports from the rest of the
adapters, so surveys.adapters.common can build on them.

Paths: `data.answers[0].value` (by position), `answers.nps` or `answers.0` (by key), and
`answers[id=q7].value`, `form_response.answers[field.ref=nps].number` or
`questions[title="How easy was it?"].answer` (the first element whose `id` / `field.ref` /
`title` is that value, compared without regard to case or surrounding spaces). A selector's
value may be quoted ("..." or '...') to hold dots or brackets. A JSON document inside a string
is entered too (form bodies often carry `payload={...}`).

Value maps: `{"Very difficult": 1, "Difficult": 2}` or, where only text fits (the CLI),
`Very difficult=1; Difficult=2` (semicolons or new lines between entries).
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

MISSING = object()


class PathSyntaxError(ValueError):
    """A path that cannot be read; the message says where."""


class UnknownLabel(LookupError):
    """An answer a value map does not name (and that is not a number either)."""


# --- paths ----------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def path_tokens(path: str) -> tuple[tuple, ...]:
    """`a.b[0][id=x]` -> (("key", "a"), ("key", "b"), ("key", "0"), ("select", "id", "x")).

    Raises PathSyntaxError for an unclosed bracket, an empty selector key or stray quotes."""
    tokens: list[tuple] = []
    i, n = 0, len(path)
    while i < n:
        ch = path[i]
        if ch == ".":
            i += 1
            continue
        if ch == "[":
            inner, i = _bracket(path, i)
            if "=" in inner and not _quoted(inner):
                key, _, value = inner.partition("=")
                key = key.strip()
                if not key:
                    raise PathSyntaxError(f"[{inner}] names no key before '=' (e.g. [id=q1]).")
                tokens.append(("select", key, _unquote(value.strip())))
            else:
                inner = _unquote(inner.strip())
                if not inner:
                    raise PathSyntaxError("[] is empty: put a position ([0]) or a selector ([id=q1]) inside.")
                tokens.append(("key", inner))
            continue
        if ch == "]":
            raise PathSyntaxError(f"']' at character {i + 1} closes nothing.")
        j = i
        while j < n and path[j] not in ".[]":
            j += 1
        tokens.append(("key", path[i:j]))
        i = j
    return tuple(tokens)


def _bracket(path: str, start: int) -> tuple[str, int]:
    """The text inside the bracket opened at `start` (quotes may hold ']'), and the index after it."""
    i, quote = start + 1, ""
    while i < len(path):
        ch = path[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "]":
            return path[start + 1:i], i + 1
        i += 1
    raise PathSyntaxError(f"'[' at character {start + 1} is never closed.")


def _quoted(text: str) -> bool:
    text = text.strip()
    return len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'"


def _unquote(text: str) -> str:
    return text[1:-1] if _quoted(text) else text


def fold(value: Any) -> str:
    """How selector values and value-map labels compare: case- and space-insensitive text."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return " ".join(str(value).split()).casefold()


def resolve(obj: Any, path: str) -> Any:
    """Follow a path into nested data; MISSING when any step is absent (or the path unreadable)."""
    try:
        tokens = path_tokens(path or "")
    except PathSyntaxError:
        return MISSING
    current = obj
    for token in tokens:
        if isinstance(current, str) and current[:1] in "{[":
            try:
                current = json.loads(current)
            except ValueError:
                return MISSING
        if token[0] == "select":
            current = _select(current, token[1], token[2])
        else:
            current = _step(current, token[1])
        if current is MISSING:
            return MISSING
    return current


def _step(current: Any, name: str) -> Any:
    if isinstance(current, dict):
        if name in current:
            return current[name]
        lowered = {str(k).lower(): v for k, v in current.items()}
        return lowered.get(name.lower(), MISSING)
    if isinstance(current, list) and name.lstrip("-").isdigit():
        i = int(name)
        if -len(current) <= i < len(current):
            return current[i]
    return MISSING


def _select(current: Any, key: str, wanted: str) -> Any:
    """The first element (of a list, or value of a dict) whose `key` path reads as `wanted`."""
    items = current.values() if isinstance(current, dict) else current if isinstance(current, list) else ()
    target = fold(wanted)
    for item in items:
        value = resolve(item, key)
        if value is not MISSING and value is not None and not isinstance(value, (dict, list)) and fold(value) == target:
            return item
    return MISSING


# --- value maps -----------------------------------------------------------------------------


def parse_value_map(value: Any) -> dict[str, int | float]:
    """A value map as written (a JSON object, or `label=number; label=number`) -> {label: number}.

    Raises ValueError naming the entry that is not `label=number`."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"is not valid JSON ({exc}).") from None
        else:
            pairs = {}
            for entry in (e.strip() for e in text.replace("\n", ";").split(";")):
                if not entry:
                    continue
                label, sep, number = entry.rpartition("=")
                if not sep or not label.strip():
                    raise ValueError(f"entry {entry!r} is not label=number (e.g. Very difficult=1).")
                pairs[label.strip()] = number.strip()
            value = pairs
    if not isinstance(value, dict) or not value:
        raise ValueError("must list at least one answer and its number, e.g. {\"Very difficult\": 1}.")
    clean: dict[str, int | float] = {}
    for label, number in value.items():
        if isinstance(number, bool) or not isinstance(number, (int, float, str)):
            raise ValueError(f"{label!r} maps to {number!r}, not a number.")
        try:
            parsed = Decimal(str(number).strip())
        except (InvalidOperation, ValueError):
            raise ValueError(f"{label!r} maps to {number!r}, not a number.") from None
        if not parsed.is_finite():
            raise ValueError(f"{label!r} maps to {number!r}, not a number.")
        if not str(label).strip():
            raise ValueError("an entry has an empty label.")
        clean[str(label).strip()] = int(parsed) if parsed == parsed.to_integral_value() else float(parsed)
    folded = [fold(label) for label in clean]
    if len(set(folded)) != len(folded):
        raise ValueError("two labels differ only in case or spacing; keep one.")
    return clean


def apply_value_map(raw: Any, value_map: dict) -> Any:
    """The number a value map gives an answer. An answer that is already a number passes through;
    one the map does not name raises UnknownLabel."""
    if raw is MISSING or raw is None or raw == "" or raw == []:
        return raw
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    if isinstance(raw, dict):
        raw = raw.get("label", raw.get("value", raw))
    by_label = {fold(label): number for label, number in value_map.items()}
    key = fold(raw) if not isinstance(raw, (dict, list)) else None
    if key is not None and key in by_label:
        return by_label[key]
    if not isinstance(raw, bool) and isinstance(raw, (int, float, Decimal)):
        return raw
    if isinstance(raw, str):
        try:
            if Decimal(raw.strip()).is_finite():
                return raw
        except (InvalidOperation, ValueError):
            pass
    raise UnknownLabel(str(raw)[:80])
