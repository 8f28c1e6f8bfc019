"""Where alerts listens.

- surveys.signals.response_recorded -> alerts.services.alerts_raise_for_recorded, inside the
  transaction that records the response (the documented hook between surveys and alerts);
- any AlertRule change, and any segment change (segments.signals.segment_changed) ->
  alerts.selectors.rules_changed (the active-rule cache's invalidation: rules compile segments).
"""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from alerts.models import AlertRule
from segments.signals import segment_changed
from surveys.signals import response_recorded


@receiver(response_recorded, dispatch_uid="alerts.raise_for_response")
def raise_alerts(sender, recorded, **kwargs):
    from alerts.services import alerts_raise_for_recorded

    alerts_raise_for_recorded(recorded=recorded)


@receiver(post_save, sender=AlertRule, dispatch_uid="alerts.rule_saved")
@receiver(post_delete, sender=AlertRule, dispatch_uid="alerts.rule_deleted")
@receiver(m2m_changed, sender=AlertRule.surveys.through, dispatch_uid="alerts.rule_surveys_changed")
@receiver(m2m_changed, sender=AlertRule.notify_users.through, dispatch_uid="alerts.rule_notify_users_changed")
@receiver(m2m_changed, sender=AlertRule.themes.through, dispatch_uid="alerts.rule_themes_changed")
@receiver(m2m_changed, sender=AlertRule.segments.through, dispatch_uid="alerts.rule_segments_changed")
@receiver(segment_changed, dispatch_uid="alerts.segment_changed")
def rule_changed(sender, **kwargs):
    from alerts.selectors import rules_changed

    rules_changed()
