"""Hooks the follow-up app listens to.

- a new praise Alert -> followup.services.recognition_for_alert (a promoter's comment naming a
  member of staff or a location becomes a Recognition, e-mailed to their managers after commit).

It runs inside the transaction that recorded the response, like cases' receivers, so the
response, its alerts and the recognition are committed together or not at all.

Why post_save and not alerts.signals.alert_raised: alerts sends `alert_raised` only for alerts
whose action opens a case (alerts.services.alerts_raise_for_response); praise alerts are stored
without a signal. Listening to the Alert row being created catches every praise alert, whichever
path stored it. Should alerts send `alert_raised` for every new alert, this receiver moves there
unchanged (it already ignores other actions).
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from alerts.models import Alert


@receiver(post_save, sender=Alert, dispatch_uid="followup.recognize_praise")
def recognize_praise(sender, instance, created, raw=False, **kwargs):
    from alerts.models import AlertRule
    from followup.services import recognition_for_alert

    if raw or not created or instance.action != AlertRule.Action.PRAISE:
        return
    recognition_for_alert(alert=instance)
