"""The hand-off from alerts to the stages after it (cases, followup).

`alert_raised` is sent inside the transaction that recorded the response, once for each new
Alert, whatever its action, in evaluation order. It carries:

- `alert`: the new Alert (`alert.response` is `recorded.response`);
- `recorded`: the surveys.signals.Recorded it was raised for (`recorded.is_new`: the response was
  recorded in this transaction, so no case, case link or recognition of it exists yet);
- `earlier`: the alerts raised for the same response before this one, in this evaluation (a
  tuple, maybe empty): with a new response, whether an earlier alert already acted on it.

Listeners pick the actions they care about: cases opens or attaches a case for "open a case"
alerts; followup turns praise alerts into recognition.

    alert_raised.send(sender=Alert, alert=alert, recorded=recorded, earlier=(...))
"""

from django.dispatch import Signal

alert_raised = Signal()
