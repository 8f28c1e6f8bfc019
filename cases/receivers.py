"""Where cases listens to the stages before it.

- alerts.signals.alert_raised -> cases.services.case_open_from_alert (open, attach or reopen);
- surveys.signals.response_recorded -> the response's owning team from cases.routing.

Both run inside the transaction that recorded the response, so a response, its alerts and its
case are committed together or not at all."""

from django.dispatch import receiver

from alerts.signals import alert_raised
from surveys.signals import response_recorded


@receiver(alert_raised, dispatch_uid="cases.open_case_from_alert")
def open_case_from_alert(sender, alert, **kwargs):
    from alerts.models import AlertRule
    from cases.services import case_open_from_alert

    if alert.action != AlertRule.Action.OPEN_CASE:
        return
    case_open_from_alert(alert=alert)


@receiver(response_recorded, dispatch_uid="cases.route_response")
def route_response(sender, response, **kwargs):
    from cases.routing import route_team_id
    from surveys.models import SurveyResponse

    if response.team_id is not None:  # a case opened for it already set its team
        return
    team_id = route_team_id(response)
    SurveyResponse.objects.filter(pk=response.pk, team__isnull=True).update(team_id=team_id)
    response.team_id = team_id
