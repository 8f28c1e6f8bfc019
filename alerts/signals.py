"""The hand-off from alerts to the stages after it (cases, followup).

`alert_raised` is sent inside the transaction that recorded the response, once for each new
Alert, whatever its action. Listeners pick the actions they care about: cases opens or attaches
a case for "open a case" alerts; followup turns praise alerts into recognition.

    alert_raised.send(sender=Alert, alert=alert)
"""

from django.dispatch import Signal

alert_raised = Signal()
