"""Hooks the follow-up app listens to.

- alerts.signals.alert_raised for a praise alert -> followup.services.recognition_for_alert (a
  promoter's comment naming a member of staff or a location becomes a Recognition, e-mailed to
  their managers after commit).
- a change to a user or a team membership -> followup.services.staff_changed (the per-process
  directory of names a comment can mention).

It runs inside the transaction that recorded the response, like cases' receivers, so the
response, its alerts and the recognition are committed together or not at all.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import Membership, User
from alerts.signals import alert_raised


@receiver(alert_raised, dispatch_uid="followup.recognize_praise")
def recognize_praise(sender, alert, recorded, earlier=(), **kwargs):
    from alerts.models import AlertRule
    from followup.services import recognition_for_alert

    if alert.action != AlertRule.Action.PRAISE:
        return
    if recorded.is_new and any(a.action == AlertRule.Action.PRAISE for a in earlier):
        return  # an earlier praise alert of this new response had the same chance (one per response)
    recognition_for_alert(alert=alert, new_response=recorded.is_new)


@receiver(post_save, sender=User, dispatch_uid="followup.user_saved")
@receiver(post_delete, sender=User, dispatch_uid="followup.user_deleted")
@receiver(post_save, sender=Membership, dispatch_uid="followup.membership_saved")
@receiver(post_delete, sender=Membership, dispatch_uid="followup.membership_deleted")
def staff_changed(sender, update_fields=None, **kwargs):
    from followup.services import staff_changed

    if update_fields is not None and set(update_fields) <= {"last_login", "password", "is_away"}:
        return  # a login, a new password or being away changes no name anyone can mention
    staff_changed()
