"""Where cases listens to the stages before it.

- alerts.signals.alert_raised -> cases.services.case_open_from_alert (open, attach or reopen);
- surveys.signals.response_recording -> the response's owning team from cases.routing, set
  before its INSERT.

Both run inside the transaction that recorded the response, so a response, its alerts and its
case are committed together or not at all. In a batch recorded as one (core.unit_of_work),
cases are opened after the batch's responses and alerts are written."""

from django.dispatch import receiver

from alerts.signals import alert_raised
from core import unit_of_work
from surveys.signals import response_recording


@receiver(alert_raised, dispatch_uid="cases.open_case_from_alert")
def open_case_from_alert(sender, alert, **kwargs):
    from alerts.models import AlertRule
    from cases.services import case_open_from_alert

    if alert.action != AlertRule.Action.OPEN_CASE:
        return
    batch = unit_of_work.current()
    if batch is None:
        case_open_from_alert(alert=alert)
        return
    # In a batch (surveys.services records a worker's batch in one transaction): opened together
    # once the batch's responses are written, so the team and customer locks are taken at once,
    # in one order, and held only from then to the commit.
    pending = batch.memo.get("open-case alerts")
    if pending is None:
        pending = batch.memo["open-case alerts"] = []
        batch.later(lambda: _open_together(batch))
    pending.append(alert)


def _open_together(batch):
    from cases.services import cases_open_from_alerts

    alerts = batch.memo.pop("open-case alerts")
    cases_open_from_alerts(alerts=alerts)


@receiver(response_recording, dispatch_uid="cases.route_response")
def route_response(sender, response, **kwargs):
    """Before the response is inserted: its owning team, so the INSERT carries it (a case opened
    for it with another team moves it there)."""
    from cases.routing import route_team_id

    if response.team_id is None:
        response.team_id = route_team_id(response)
