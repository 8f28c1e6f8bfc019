"""Where cases listens to the stages before it.

- alerts.signals.alert_raised -> cases.services.case_open_from_alert (open, attach or reopen);
  in a batch (core.unit_of_work), gathered in the batch's CaseOpenings and opened together by
  cases.services.cases_open_from_alerts;
- surveys.signals.response_recording -> the response's owning team from cases.routing, set
  before its INSERT;
- surveys.signals.response_recorded -> cases.services.report_fields: a new answer becomes the
  "answered again" of its customer's cases closed before it (a completed one links them anew).

Both run inside the transaction that recorded the response, so a response, its alerts and its
case are committed together or not at all. In a batch recorded as one (core.unit_of_work),
cases are opened after the batch's responses and alerts are written."""

from django.dispatch import receiver

from alerts.signals import alert_raised
from core import unit_of_work
from surveys.signals import response_recorded, response_recording


@receiver(alert_raised, dispatch_uid="cases.open_case_from_alert")
def open_case_from_alert(sender, alert, recorded, earlier=(), **kwargs):
    from alerts.models import AlertRule
    from cases.services.opening import (
        CaseOpenings,
        case_open_from_alert,
        cases_open_from_alerts,
    )

    if alert.action != AlertRule.Action.OPEN_CASE:
        return
    batch = unit_of_work.current()
    if batch is None:
        # A new response whose earlier alert opened a case already: that case is in the database.
        new = recorded.is_new and not any(
            a.action == AlertRule.Action.OPEN_CASE for a in earlier
        )
        case_open_from_alert(alert=alert, new_response=new)
        return
    # In a batch (surveys.services records a worker's batch in one transaction): opened together
    # once the batch's responses are written, so the team and customer locks are taken at once,
    # in one order, and held only from then to the commit.
    openings = batch.state(CaseOpenings)
    if not openings.pending:
        batch.later(lambda: cases_open_from_alerts(openings=openings))
    openings.pending.append((alert, recorded.is_new))


@receiver(response_recording, dispatch_uid="cases.route_response")
def route_response(sender, response, **kwargs):
    """Before the response is inserted: its owning team, so the INSERT carries it (a case opened
    for it with another team moves it there)."""
    from cases.routing import route_team_id

    if response.team_id is None:
        response.team_id = route_team_id(response)


class _Answers:
    """A batch's answers, linked to their customers' closed cases at the end of the batch."""

    def __init__(self, batch):
        self.pending: list = []


@receiver(response_recorded, dispatch_uid="cases.link_answered_again")
def link_answered_again(sender, recorded, **kwargs):
    from cases.services.report_fields import (
        cases_link_answer,
        cases_link_answers,
        cases_relink_answers,
    )

    response = recorded.response
    if response.customer_id is None:
        return
    if not recorded.is_new:  # completed or replayed: its score or time may have changed
        cases_relink_answers(customer_ids=[response.customer_id])
        return
    if response.nps is None:
        return
    batch = unit_of_work.current()
    if batch is None:
        cases_link_answer(response=response)
        return
    answers = batch.state(_Answers)
    if not answers.pending:
        batch.later(lambda: cases_link_answers(responses=answers.pending))
    answers.pending.append(response)
