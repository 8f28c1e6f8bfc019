"""Vendor adapters: one small module per survey tool.

Each module exposes the same five names, all pure (no database, no network):

    CONTENT_TYPES            media types the tool sends (checked before anything is parsed)
    verify(source, body, headers, now)        raises SignatureError when the delivery is not authentic
    delivery_id(body, headers, payload)       the sender's id for this delivery (retries repeat it)
    fetch_request(source, payload)            None, or the API call that completes a thin webhook
    normalize(payload, mapping, received_at, fetched=None) -> NormalizedResponse | Ignored

`source` is anything with `.secrets`, `.auth` and `.mapping` (a WebhookSource in practice).
`headers` is a dict with lower-case names. Errors say what a person should do about them.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from surveys.adapters.common import (  # noqa: F401  (re-exported: the adapters' vocabulary)
    FetchRequest,
    Ignored,
    MappingError,
    PayloadError,
    SignatureError,
    parse_body,
)

# The order of the list of presets (and of the set-up page); every name has a module here.
VENDORS = (
    "typeform", "surveymonkey", "qualtrics", "delighted", "formbricks", "standard", "tally", "jotform",
    "surveysparrow", "zendesk", "google_forms", "generic",
)


def get_adapter(vendor: str) -> ModuleType:
    if vendor not in VENDORS:
        raise LookupError(f"No adapter for vendor {vendor!r}")
    return import_module(f"surveys.adapters.{vendor}")
