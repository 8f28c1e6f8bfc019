"""Where customers listens to the stages before it.

surveys.signals.response_recorded -> the identifiers the delivery named (Recorded.identity)
kept as Identity rows of the response's customer. In a worker's batch (core.unit_of_work) they
join the batch's other rows: one INSERT ... ON CONFLICT DO NOTHING for the whole batch, no query
per response; outside a batch, one INSERT for the response."""

from django.dispatch import receiver

from surveys.signals import response_recorded


@receiver(response_recorded, dispatch_uid="customers.record_identities")
def record_identities(sender, recorded, **kwargs):
    from customers.services.identities import identities_record

    response = recorded.response
    if recorded.identity is None or response.customer_id is None:
        return
    identities_record(customer_id=response.customer_id, source_id=response.source_id, identity=recorded.identity)
