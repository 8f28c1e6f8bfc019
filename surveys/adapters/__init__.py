"""Vendor adapters: one small module per survey or support tool (the presets of VENDORS).

Each module exposes the same names; all are pure (no database, no network). The set-up page, the
sources API and tests/surveys/test_preset_contract.py rely on every one of them:

    CONTENT_TYPES            media types the tool sends (listed for people)
    accepts(media_type)      whether a body of this media type is read (checked before parsing)
    AUTH_OPTIONS             every key `source.auth` may hold -> what it is (any other is refused);
                             fetching presets take exactly `api_base` and `api_token`
    IDENTITY                 one sentence: which customer field wins
    verify(source, body, headers, now)        raises SignatureError when the delivery is not authentic
    delivery_id(source, body, headers, payload)   the sender's id for this delivery (retries repeat it)
    fetch_request(source, payload)            None, or the API call that completes a thin webhook
    normalize(payload, mapping, received_at, fetched=None, ...) -> NormalizedResponse | Ignored
    sample_delivery(source) -> (content type, body, headers)   a signed test delivery (a low score)

`source` is anything with `.secret`, `.secrets`, `.auth` and `.mapping` (a WebhookSource in
practice). `headers` is a dict with lower-case names. Errors say what a person should do about them.
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
# Intercom and Help Scout send feedback nobody asked for (support ratings, issue #22 item 6).
VENDORS = (
    "typeform", "surveymonkey", "qualtrics", "delighted", "formbricks", "standard", "tally", "jotform",
    "surveysparrow", "zendesk", "intercom", "helpscout", "google_forms", "generic",
)

# Senders of events that are not survey responses: the same door (verify, store, process), but a
# handler another app registers turns their deliveries into its own rows (surveys.services.handlers).
# They have no `normalize`; set-up steps and formats list them beside the survey tools.
EVENT_VENDORS = ("stripe",)


def get_adapter(vendor: str) -> ModuleType:
    if vendor not in VENDORS and vendor not in EVENT_VENDORS:
        raise LookupError(f"No adapter for vendor {vendor!r}")
    return import_module(f"surveys.adapters.{vendor}")
