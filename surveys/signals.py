"""The hand-off from surveys to the next stage, and what it carries.

`response_recording` is sent just before a new SurveyResponse is inserted, for fields a later
stage owns to be set in the same INSERT (cases routes it to its team: no UPDATE afterwards).

`response_recorded` is sent inside the transaction that stores a new SurveyResponse, once per
response (never for a duplicate), with `recorded=Recorded(...)`: the response and what the
receivers need to know about it, passed explicitly rather than set on the instance. It is sent
again, with `is_new=False`, when a partial response is completed by a later version of it
(surveys.services.recording.response_complete) and when a person replays a delivery of a response
recorded before, so the rules judge it again. Receivers
(alerts) run in that same transaction, so a response and the alerts it raises are committed
together or not at all.

    response_recording.send(sender=SurveyResponse, response=response)  # not saved yet
    response_recorded.send(sender=SurveyResponse, recorded=Recorded(response, theme_ids))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.dispatch import Signal

if TYPE_CHECKING:
    from surveys.models import SurveyResponse
    from surveys.normalized import CustomerIdentity

response_recording = Signal()
response_recorded = Signal()


@dataclass(frozen=True, slots=True)
class Recorded:
    """A response as the stages after surveys receive it.

    - `response`: the SurveyResponse (its customer and survey loaded).
    - `theme_ids`: the active themes its comment is about (surveys.Theme ids), so alert rules on
      themes need no query.
    - `identity`: the customer as the delivery named them (external id, e-mail, phone in E.164),
      which may say more than the customer row it matched (customers keeps every identifier as
      an Identity); None for a response loaded from the database.
    - `is_new`: recorded in the current transaction. Then nothing of it exists yet (no alert,
      case, case link or recognition), so later stages need not look for one; within a batch
      (core.unit_of_work) its rows may not even be written yet. False for a response loaded
      from the database (a replay, a backtest, a test): later stages check what exists.

    `Recorded.stored(response)` builds one for a response loaded from the database (one query
    for its theme ids, none when `with_themes` is False)."""

    response: SurveyResponse
    theme_ids: frozenset[int] = frozenset()
    is_new: bool = True
    identity: CustomerIdentity | None = None

    @classmethod
    def stored(cls, response: SurveyResponse, *, with_themes: bool = True) -> Recorded:
        from surveys.models import ResponseTheme

        theme_ids = frozenset(ResponseTheme.objects.filter(response_id=response.pk).values_list(
            "theme_id", flat=True)) if with_themes else frozenset()
        return cls(response=response, theme_ids=theme_ids, is_new=False)
