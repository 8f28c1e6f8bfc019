"""Where customers listens to the stages before it.

surveys.signals.response_recorded -> the identifiers the delivery named (Recorded.identity)
kept as Identity rows of the response's customer. In a worker's batch (core.unit_of_work) they
join the batch's other rows: one INSERT ... ON CONFLICT DO NOTHING for the whole batch, no query
per response; outside a batch, one INSERT for the response.

surveys.signals.response_recorded -> the decision-maker account rules (customers.services
.account_rules_on_answers) for a detractor answer; in a batch, at its end. Any AccountRule change
-> the active account rules' per-process cache dropped (customers.selectors.account_rules)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from surveys.signals import response_recorded


@receiver(response_recorded, dispatch_uid="customers.record_identities")
def record_identities(sender, recorded, **kwargs):
    from customers.services.identities import identities_record

    response = recorded.response
    if recorded.identity is None or response.customer_id is None:
        return
    identities_record(customer_id=response.customer_id, source_id=response.source_id, identity=recorded.identity)


class _DecisionMakerAnswers:
    """A batch's detractor answers, judged by the decision-maker account rules at its end."""

    def __init__(self, batch):
        self.pending: list = []


@receiver(response_recorded, dispatch_uid="customers.account_rules")
def judge_account_rules(sender, recorded, **kwargs):
    """A new detractor answer of a known customer, while a decision-maker account rule is active
    (from the per-process cache: no query otherwise), is judged by customers.services
    .account_rules_on_answers; in a worker's batch, once its responses are written."""
    from core import unit_of_work
    from customers.models import AccountRule
    from customers.selectors.account_rules import active_account_rules
    from customers.services.account_rules import DETRACTOR_MAX, account_rules_on_answers

    response = recorded.response
    if not recorded.is_new or response.customer_id is None or response.nps is None or response.nps > DETRACTOR_MAX:
        return
    if not any(rule.kind == AccountRule.Kind.DECISION_MAKER_DETRACTOR for rule in active_account_rules()):
        return
    batch = unit_of_work.current()
    if batch is None:
        account_rules_on_answers(responses=[response])
        return
    answers = batch.state(_DecisionMakerAnswers)
    if not answers.pending:
        batch.later(lambda: account_rules_on_answers(responses=answers.pending))
    answers.pending.append(response)


@receiver(post_save, sender="customers.AccountRule", dispatch_uid="customers.account_rule_saved")
@receiver(post_delete, sender="customers.AccountRule", dispatch_uid="customers.account_rule_deleted")
def account_rule_changed(sender, **kwargs):
    from customers.selectors.account_rules import account_rules_changed

    account_rules_changed()
