"""What PostgreSQL can store of what a sender controls: text without NUL or lone surrogates,
JSON without NaN or infinities. Pure functions, used wherever sender data is written (the
recorded response, what a vendor's API returned for a thin webhook)."""

from __future__ import annotations

import math

REPLACEMENT = "\ufffd"


def storable(text: str) -> str:
    """`text` without NUL or lone surrogates (each becomes U+FFFD); unchanged when it has neither."""
    if not isinstance(text, str):
        return text
    if "\x00" in text:
        text = text.replace("\x00", REPLACEMENT)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join(REPLACEMENT if "\ud800" <= ch <= "\udfff" else ch for ch in text)


def storable_json(value):
    """JSON data as jsonb holds it: strings (keys too) made storable(), NaN and infinities -> None."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(k)): storable_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
