"""The normalized response: what every vendor adapter produces and `response_record` consumes.

Adapters are pure functions (payload -> NormalizedResponse); nothing downstream knows which
survey tool a response came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Score:
    """One numeric answer on its own scale.

    metric: "nps", "csat", "ces" or "custom"; key: the question key (the metric name for the
    standard ones). higher_is_better is False for a CES scale where a high number means effort."""

    metric: str
    key: str
    value: Decimal
    scale_min: int
    scale_max: int
    higher_is_better: bool = True


@dataclass(frozen=True)
class CustomerIdentity:
    external_id: str = ""
    email: str = ""
    name: str = ""
    phone: str = ""
    tier: str = ""
    segment: str = ""
    account_value: Decimal | None = None
    attributes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class NormalizedResponse:
    response_id: str
    survey_id: str
    survey_name: str
    answered_at: datetime
    scores: tuple[Score, ...]
    customer: CustomerIdentity = field(default_factory=CustomerIdentity)
    comment: str = ""
    touchpoint: str = ""
    channel: str = ""
    location: str = ""
    region: str = ""
    attributes: dict = field(default_factory=dict)
    # An unfinished answer (Formbricks finished: false, a Typeform partial, Qualtrics in progress):
    # judged by its score at once; the finished version later updates the same response.
    partial: bool = False
