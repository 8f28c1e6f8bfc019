"""What customers and accounts did next: renewals, churn, downgrades, expansions, purchases and
refunds, with their amount and date. Written only by outcomes.services.outcome_events_upsert (the
bulk API, the Stripe preset, a CSV import); read by the closed-loop results and impact reports."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.models import Account
from surveys.models import Customer


class OutcomeEvent(models.Model):
    """One business event of a customer and/or an account, as the billing or CRM system recorded
    it. `source` + `external_id` identify it in that system: sending it again updates it rather
    than adding a second one. `amount` is in the currency's major unit (euros, yen), never negative:
    the kind says which way the money went (a refund, a churned subscription's lost revenue)."""

    class Kind(models.TextChoices):
        RENEWAL = "renewal", _("Renewal")
        CHURN = "churn", _("Churn")
        DOWNGRADE = "downgrade", _("Downgrade")
        EXPANSION = "expansion", _("Expansion")
        PURCHASE = "purchase", _("Purchase")
        REFUND = "refund", _("Refund")

    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="outcome_events", db_index=False)  # indexed below with occurred_at
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="outcome_events", db_index=False)  # indexed below with occurred_at
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = models.DecimalField(max_digits=18, decimal_places=3, default=0)
    currency = models.CharField(max_length=3, help_text=_("ISO 4217 code, upper case (EUR, JPY)."))
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=80, help_text=_("Where it came from: api, csv, stripe:<webhook slug>..."))
    external_id = models.CharField(max_length=255, help_text=_("The event's id in its source."))
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # On PostgreSQL the table is partitioned by month on occurred_at (core.partitions): no
        # uniqueness may leave occurred_at out, so the idempotency key lives in OutcomeEventKey.
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(customer__isnull=False) | Q(account__isnull=False),
                                   name="outcomes_outcomeevent_customer_or_account"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="outcomes_outcomeevent_amount_not_negative"),
        ]
        indexes = [
            # The upsert's lookup of events sent before; their uniqueness is OutcomeEventKey's.
            models.Index(fields=["source", "external_id"], name="outcomes_event_source_id"),
            # The results and impact reports: "events of these customers within N days after X",
            # one probe per customer followed; covering, so a probe never visits the table.
            models.Index(fields=["customer", "occurred_at"], name="outcomes_event_customer_time",
                         include=["kind", "amount", "currency"]),
            # The same for accounts, and the API's account filter; most events name a customer only.
            models.Index(fields=["account", "occurred_at"], name="outcomes_event_account_time",
                         condition=Q(account__isnull=False)),
            # The API list's default order and its date range.
            models.Index(fields=["occurred_at"], name="outcomes_event_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency} ({self.occurred_at:%Y-%m-%d})"


class OutcomeEventKey(models.Model):
    """The idempotency key of an outcome event: (source, external_id) is unique here, so a retried
    delivery or a re-imported file updates its event rather than adding a second one. It is a table
    of its own because the events table is partitioned by month on occurred_at (PostgreSQL), and a
    partitioned table holds no uniqueness that leaves its partition key out. Written with its event
    by outcomes.services.outcome_events_upsert, in the same transaction; `occurred_at` follows the
    event's, so retention forgets the key once its event's month is dropped (core.partitions)."""

    source = models.CharField(max_length=80)
    external_id = models.CharField(max_length=255)
    # No foreign key: PostgreSQL accepts none into a partitioned table. A key whose event is gone
    # (erased with its customer, dropped past retention) is taken over by the next event it names.
    event_id = models.BigIntegerField()
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="outcomes_outcomeeventkey_unique_source_id"),
        ]
        indexes = [
            # Retention: the keys of months past it (core.partitions.drop_expired).
            models.Index(fields=["occurred_at"], name="outcomes_eventkey_time"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"
