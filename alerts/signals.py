"""The hand-off from alerts to cases.

`alert_raised` is sent inside the transaction that recorded the response, once for each new
Alert whose rule's action is to open a case (cases listens and opens or attaches a case).

    alert_raised.send(sender=Alert, alert=alert)
"""

from django.dispatch import Signal

alert_raised = Signal()
