"""Connecting a survey tool: the test delivery the set-up page and the API send.

A test delivery is the vendor adapter's `sample_delivery(source)` (content type, body, headers:
a realistic, correctly signed delivery with a low score) posted through the webhook door's own
request function (`surveys.ingest.django_view.receive`: the source, size, content type,
signature and parse checks, the rate limit, the INSERT and the publish), exactly as the tool's
request would be. It therefore fails where a real delivery would (a wrong secret in the source,
an inactive source), lands as a `WebhookDelivery`, and the workers turn it into a response (and
a case) like any other. This module sits above surveys.services and surveys.ingest and is
imported by neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.utils.translation import gettext_lazy

from surveys.adapters import get_adapter
from surveys.ingest.django_view import receive
from surveys.models import WebhookSource

NO_SAMPLE = gettext_lazy("The %(label)s preset has no test delivery yet: send one from the tool itself.")


class TestDeliveryUnavailable(Exception):
    """The vendor's adapter cannot make a sample delivery; the message says what to do instead."""


@dataclass(frozen=True)
class TestDelivery:
    """What the webhook door answered: its status and body (`id` is the WebhookDelivery's pk
    when it was stored)."""

    status: int
    answer: dict | None

    @property
    def delivery_pk(self) -> int | None:
        return (self.answer or {}).get("id") if self.status in (200, 202) else None

    @property
    def accepted(self) -> bool:
        return self.status in (200, 202)


def source_test_delivery(*, source: WebhookSource) -> TestDelivery:
    """Post the adapter's sample delivery for `source` through the webhook door."""
    sample = getattr(get_adapter(source.vendor), "sample_delivery", None)
    if sample is None:
        raise TestDeliveryUnavailable(NO_SAMPLE % {"label": source.get_vendor_display()})
    content_type, body, headers = sample(source)
    lowered = {name.lower(): str(value) for name, value in headers.items()}
    lowered["content-type"] = content_type
    lowered["content-length"] = str(len(body))
    # A tool that can only put a token in the URL (?token=): the sample names it x-query-token.
    token = lowered.pop("x-query-token", None)
    query = urlencode({"token": token}) if token is not None else ""
    answer = receive("POST", source.slug, lowered, query, lambda _declared: body, secure=True)
    return TestDelivery(status=answer.status, answer=answer.body)
