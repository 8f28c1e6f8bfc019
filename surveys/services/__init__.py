"""Writes for the surveys stage: sources, deliveries, the response recorder and themes.

The path of a delivery: the webhook (surveys.ingest) verifies it and stores it with one INSERT
(committed before the 202); `process_deliveries_task` (a batch, as the publisher sends them) calls
`deliveries_process` (processing.py), which claims the rows (deliveries.py), runs the vendor
adapter (fetching thin webhooks first) and calls `response_record` (recording.py) for each, the
whole batch in one transaction (core.unit_of_work), on SQLite as on PostgreSQL. `response_record`
announces each new response with `surveys.signals.response_recorded(recorded=Recorded(...))`.

- sources.py: a webhook source's one validation (every door), creating and changing one, previewing a
  mapping on a pasted sample.
- deliveries.py: a delivery's row: store, enqueue, claim, normalize, fail or retry, replay, re-drive.
- processing.py: a batch of deliveries, from claimed rows to recorded responses.
- lookups.py: what a batch reads up front (RecordLookups).
- recording.py: one normalized response -> SurveyResponse (customer and survey found or created).
- customers.py: finding, creating and enriching the customer a response names.
- themes.py: theme writes and decisions, and re-tagging responses when themes change.
- discovery.py: proposing themes from recent comments no active theme matches.
"""

from surveys.services.customers import customer_find_or_create
from surveys.services.deliveries import (
    deliveries_forget_bodies, deliveries_redrive, deliveries_replay_failed, delivery_enqueue, delivery_fetch_request,
    delivery_normalize,
    delivery_replay,
)
from surveys.services.discovery import Discovery, discover, discover_themes
from surveys.services.lookups import RecordLookups
from surveys.services.processing import deliveries_process, delivery_process
from surveys.services.recording import (
    InvalidResponse, response_analyse, response_record, response_tags_follow, survey_find_or_create,
)
from surveys.services.sources import (
    auth_options, secret_generate, source_create, source_preview, source_problems, source_update,
)
from surveys.services.themes import (
    RETAG_DAYS, RetagResult, ThemeTransitionError, responses_retag, theme_create, theme_decide, theme_problems,
    theme_propose, theme_retag_later, theme_update,
)

__all__ = [
    "RETAG_DAYS", "Discovery", "InvalidResponse", "RecordLookups", "RetagResult",
    "ThemeTransitionError", "customer_find_or_create", "deliveries_process",
    "deliveries_forget_bodies", "deliveries_redrive", "deliveries_replay_failed", "delivery_enqueue",
    "delivery_fetch_request",
    "delivery_normalize", "delivery_process", "delivery_replay", "discover", "discover_themes",
    "response_analyse", "response_record", "response_tags_follow", "responses_retag", "secret_generate", "source_create",
    "auth_options", "source_preview", "source_problems", "source_update",
    "survey_find_or_create", "theme_create", "theme_decide", "theme_problems", "theme_propose", "theme_retag_later", "theme_update",
]
