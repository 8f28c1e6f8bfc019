"""Where cases listens to the stages before it.

- alerts.signals.alert_raised -> cases.services.case_open_from_alert (open, attach or reopen);
- surveys.signals.response_recording -> the response's owning team from cases.routing, set
  before its INSERT.

Both run inside the transaction that recorded the response, so a response, its alerts and its
case are committed together or not at all."""

from django.dispatch import receiver

from alerts.signals import alert_raised
from surveys.signals import response_recording


@receiver(alert_raised, dispatch_uid="cases.open_case_from_alert")
def open_case_from_alert(sender, alert, **kwargs):
    from alerts.models import AlertRule
    from cases.services import case_open_from_alert

    if alert.action != AlertRule.Action.OPEN_CASE:
        return
    case_open_from_alert(alert=alert)


@receiver(response_recording, dispatch_uid="cases.route_response")
def route_response(sender, response, **kwargs):
    """Before the response is inserted: its owning team, so the INSERT carries it (a case opened
    for it with another team moves it there)."""
    from cases.routing import route_team_id

    if response.team_id is None:
        response.team_id = route_team_id(response)
