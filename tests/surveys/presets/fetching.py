"""Helpers the fetching presets' tests share: the stored state after a delivery, and the examples
of a docs/connect page (each example block is preceded by `<!-- example: NAME -->`)."""

from __future__ import annotations

import re
from pathlib import Path

from cases.models import Case
from surveys.models import SurveyResponse, WebhookDelivery

DOCS = Path(__file__).resolve().parents[3] / "docs" / "connect"


def doc_examples(page: str) -> dict[str, str]:
    """NAME -> the text of the fenced block that follows `<!-- example: NAME -->` in docs/connect/PAGE."""
    text = (DOCS / page).read_text()
    found = re.findall(r"<!-- example: ([\w-]+) -->\s*```[\w-]*\n(.*?)\n```", text, flags=re.S)
    return dict(found)


def only_delivery() -> WebhookDelivery:
    return WebhookDelivery.objects.get()


def cases_for(response: SurveyResponse) -> int:
    return Case.objects.filter(responses__id=response.pk).count()
