"""What a batch of deliveries reads up front, so recording each response asks the database
only for what the batch did not find."""

from __future__ import annotations

from django.db.models import Q
from django.db.models.functions import Lower

from surveys.models import Customer, Survey, SurveyResponse, WebhookSource
from surveys.normalized import CustomerIdentity, NormalizedResponse


class RecordLookups:
    """What a batch of normalized responses needs from the database, read up front in a few
    queries: the responses it repeats, its customers (by external id and by e-mail) and its
    surveys. `response_record` consults it before querying; what one delivery records is staged,
    and kept once its transaction is through (`keep()`; `drop()` after a rollback), so a later
    delivery in the same batch finds it and never a row that was rolled back. A miss means "not
    there when the batch was read": the unique constraints still decide, and a row created
    meanwhile by another worker is found by the query that follows the lost INSERT."""

    # Optimistic: a customer or response the batch's reads did not find is inserted without a
    # savepoint of its own (two round trips fewer each). The rare insert that loses a race with
    # another worker aborts its delivery's transaction; deliveries_process then records that
    # delivery again the careful way (no lookups, savepoints, re-reads).
    optimistic = True

    def __init__(self):
        self.responses: dict[tuple[int, str], SurveyResponse] = {}
        self.customers_by_external_id: dict[str, Customer] = {}
        self.customers_by_email: dict[str, Customer] = {}
        self.surveys: dict[tuple[int, str], Survey] = {}
        self._staged: list = []

    def stage(self, kind: str, key, value) -> None:
        self._staged.append((kind, key, value))

    def keep(self) -> None:
        for kind, key, value in self._staged:
            if kind == "customer":
                self._add_customer(value)
            else:
                getattr(self, kind)[key] = value
        self._staged.clear()

    def drop(self) -> None:
        self._staged.clear()

    def snapshot(self) -> tuple:
        """What is kept now, for `restore` when a transaction that kept more rolls back."""
        return (dict(self.responses), dict(self.customers_by_external_id), dict(self.customers_by_email),
                dict(self.surveys))

    def restore(self, snapshot: tuple) -> None:
        (self.responses, self.customers_by_external_id, self.customers_by_email, self.surveys) = (
            dict(d) for d in snapshot)
        self._staged.clear()

    @classmethod
    def load(cls, items: list[tuple[WebhookSource, NormalizedResponse]]) -> RecordLookups:
        lookups = cls()
        if not items:
            return lookups
        by_source: dict[int, set[str]] = {}
        survey_ids: dict[int, set[str]] = {}
        external_ids = set()
        for source, normalized in items:
            by_source.setdefault(source.pk, set()).add(normalized.response_id)
            survey_ids.setdefault(source.pk, set()).add(normalized.survey_id)
            if normalized.customer.external_id:
                external_ids.add(normalized.customer.external_id)
        responses = Q()
        for source_id, ids in by_source.items():
            responses |= Q(source_id=source_id, external_id__in=ids)
        for response in SurveyResponse.objects.filter(responses).order_by():
            lookups.responses[(response.source_id, response.external_id)] = response
        surveys = Q()
        for source_id, ids in survey_ids.items():
            surveys |= Q(source_id=source_id, external_id__in=ids)
        for survey in Survey.objects.filter(surveys).order_by():
            lookups.surveys[(survey.source_id, survey.external_id)] = survey
        if external_ids:
            for customer in Customer.objects.select_related("merged_into").filter(external_id__in=external_ids).order_by():
                lookups.customers_by_external_id[customer.external_id] = customer
        # By e-mail only for whom the external id found nobody (customer_match looks no further).
        emails = {n.customer.email.lower() for _s, n in items if n.customer.email
                  and n.customer.external_id not in lookups.customers_by_external_id}
        if emails:
            for customer in Customer.objects.select_related("merged_into").annotate(email_ci=Lower("email")).filter(
                    email_ci__in=emails).order_by():
                lookups.customers_by_email[customer.email_ci] = customer  # unique, case-insensitively
        return lookups

    def customer_match(self, identity: CustomerIdentity) -> Customer | None:
        """`_customer_match` answered from the batch's reads (the phone-only case is not read up
        front: None sends the caller to the database)."""
        if identity.external_id and (found := self.customers_by_external_id.get(identity.external_id)):
            return found
        if identity.email:
            found = self.customers_by_email.get(identity.email.lower())
            if found is not None and not (identity.external_id and found.external_id):
                return found
        return None

    def can_answer(self, identity: CustomerIdentity) -> bool:
        return bool(identity.external_id or identity.email)

    def _add_customer(self, customer: Customer) -> None:
        if customer.external_id:
            self.customers_by_external_id[customer.external_id] = customer
        if customer.email:
            self.customers_by_email.setdefault(customer.email.lower(), customer)
