"""A trained churn model (its parameters and held-out figures), one for customers and one for
accounts, and each customer's and account's latest risk with its reasons. The risk itself is also
kept on surveys.Customer.churn_risk and customers.Account.churn_risk, where alert rules, routing,
the inbox sort and reports read it."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Account
from surveys.models import Customer


class ChurnModel(models.Model):
    """A logistic regression over standardized features (churn.features), trained on the period
    before `reference_at` and measured on the period after it (a time split: the figures are for
    customers and churns the training never saw). The newest row is the one in use; retraining
    adds a row and keeps the last few. `parameters` is plain JSON (churn.model.FORMAT), never a
    pickle. Customers and accounts each have their own model (`subject`): an account's churn is
    its own event, learned from its contacts' history together."""

    class Subject(models.TextChoices):
        CUSTOMER = "customer", _("Customers")
        ACCOUNT = "account", _("Accounts")

    subject = models.CharField(max_length=8, choices=Subject.choices, default=Subject.CUSTOMER)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    horizon_days = models.PositiveIntegerField(help_text=_("Churn within this many days of a reference date."))
    train_reference_at = models.DateTimeField(help_text=_("Features as of this date; labels in the horizon after it."))
    reference_at = models.DateTimeField(help_text=_("The held-out period's reference date."))
    trained_on = models.PositiveIntegerField(help_text=_("Customers (or accounts) in the training period."))
    churns = models.PositiveIntegerField(help_text=_("Of them, those who churned within the horizon."))
    held_out = models.PositiveIntegerField(help_text=_("Customers (or accounts) in the later, held-out period."))
    held_out_churns = models.PositiveIntegerField()
    auc = models.FloatField(null=True, blank=True, help_text=_("Area under the ROC curve, held-out period."))
    brier = models.FloatField(
        null=True,
        blank=True,
        help_text=_("Brier score (mean squared error), held out."),
    )
    base_rate = models.FloatField(help_text=_("Share of held-out customers who churned."))
    # [{"low": 0.0, "high": 0.1, "customers": n, "predicted": mean risk, "observed": churn share}, ...]
    reliability = models.JSONField(default=list)
    parameters = models.JSONField()
    scored = models.PositiveIntegerField(default=0, help_text=_("Customers (or accounts) scored with this model."))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subject", "-created_at", "-id"], name="churn_model_subject_newest")]

    def __str__(self) -> str:
        return f"Churn model of {self.created_at:%Y-%m-%d %H:%M} ({self.trained_on} customers)"


class Risk(models.Model):
    """What a scoring run writes for one customer or account: the risk, its reasons, the model."""

    # No database cascade: a scoring run replaces every row before older models are deleted, and
    # Django's cascade would load a million rows to delete them one batch at a time.
    model = models.ForeignKey(
        ChurnModel,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        db_index=False,
    )
    risk = models.FloatField()
    reasons = models.JSONField(default=list)
    scored_at = models.DateTimeField()

    class Meta:
        abstract = True


class CustomerRisk(Risk):
    """A customer's churn risk from the newest model, with the largest contributions behind it
    (`reasons`: [{"feature": name, "high": bool, "contribution": log-odds}], worded by
    churn.reasons in the reader's language). Rewritten by every scoring run."""

    customer = models.OneToOneField(
        Customer,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="churn_risk_detail",
    )

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.risk:.2f}"


class AccountRisk(Risk):
    """An account's churn risk from the newest account model, with its reasons (as CustomerRisk's),
    read from the history of all its contacts together. Rewritten by every scoring run."""

    account = models.OneToOneField(
        Account,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="churn_risk_detail",
    )

    def __str__(self) -> str:
        return f"account {self.account_id}: {self.risk:.2f}"
