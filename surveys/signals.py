"""The hand-off from surveys to the next stage.

`response_recording` is sent just before a new SurveyResponse is inserted, for fields a later
stage owns to be set in the same INSERT (cases routes it to its team: no UPDATE afterwards).

`response_recorded` is sent inside the transaction that stores a new SurveyResponse, once per
response (never for a duplicate). Receivers (alerts) run in that same transaction, so a
response and the alerts it raises are committed together or not at all.

    response_recording.send(sender=SurveyResponse, response=response)  # not saved yet
    response_recorded.send(sender=SurveyResponse, response=response)
"""

from django.dispatch import Signal

response_recording = Signal()
response_recorded = Signal()
