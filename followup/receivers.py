"""Hooks the follow-up app listens to.

- alerts.signals.alert_raised for a praise alert -> followup.services.recognition_for_alert (a
  promoter's comment naming a member of staff or a location becomes a Recognition, e-mailed to
  their managers after commit).

It runs inside the transaction that recorded the response, like cases' receivers, so the
response, its alerts and the recognition are committed together or not at all.
"""

from django.dispatch import receiver

from alerts.signals import alert_raised


@receiver(alert_raised, dispatch_uid="followup.recognize_praise")
def recognize_praise(sender, alert, **kwargs):
    from alerts.models import AlertRule
    from followup.services import recognition_for_alert

    if alert.action != AlertRule.Action.PRAISE:
        return
    recognition_for_alert(alert=alert)
