"""What the pages and the API read: the model in use with its held-out figures, or why there is
none; a customer's or an account's risk with its reasons in words."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from churn.features import ACCOUNT, CUSTOMER
from churn.model import newest_model
from churn.models import AccountRisk, ChurnModel, CustomerRisk
from churn.reasons import reason_texts


@dataclass(frozen=True)
class Overview:
    model: ChurnModel | None
    why_not: str  # "" with a model: what the page says instead of a score


def churn_overview(subject: str = CUSTOMER) -> Overview:
    """The model of customers (or of accounts) in use, or why there is none."""
    model = newest_model(subject)
    if model is not None:
        return Overview(model, "")
    from django.db.models import Count, Q

    from outcomes.models import OutcomeEvent

    counts = OutcomeEvent.objects.aggregate(
        events=Count("id"),
        churns=Count("id", filter=Q(kind=OutcomeEvent.Kind.CHURN)),
        account_churns=Count("id", filter=Q(kind=OutcomeEvent.Kind.CHURN, account__isnull=False)),
    )
    churns = counts["churns"]
    if not counts["events"]:
        why = _("No churn risk yet: no business outcomes have been recorded, so there is nothing to learn from.")
    elif subject == ACCOUNT:
        why = _(
            "No churn risk for accounts yet: too few account churns to learn from (%(churns)s churn events name "
            "an account; the accounts' model needs at least %(needed)s in the training period and %(held_out)s "
            "in the later period it is checked on)."
        ) % {
            "churns": counts["account_churns"],
            "needed": settings.CHURN_MIN_CHURNS,
            "held_out": settings.CHURN_MIN_HELD_OUT_CHURNS,
        }
    else:
        why = _(
            "No churn risk yet: too few churns to learn from (%(churns)s recorded; the model needs at least "
            "%(needed)s in the training period and %(held_out)s in the later period it is checked on)."
        ) % {
            "churns": churns,
            "needed": settings.CHURN_MIN_CHURNS,
            "held_out": settings.CHURN_MIN_HELD_OUT_CHURNS,
        }
    return Overview(None, why)


@dataclass(frozen=True)
class RiskView:
    risk: float
    reasons: list[str]
    subject_id: int  # the customer's (or the account's) id

    @property
    def percent(self) -> int:
        return round(self.risk * 100)

    @property
    def level(self) -> str:
        return "high" if self.risk >= 0.5 else "medium" if self.risk >= 0.2 else "low"


def customer_risk(customer_id: int) -> RiskView | None:
    row = CustomerRisk.objects.filter(customer_id=customer_id).first()
    if row is None:
        return None
    return RiskView(row.risk, reason_texts(row.reasons), row.customer_id)


def account_risk(account_id: int) -> RiskView | None:
    """The account's own risk, from the accounts' model, with its reasons."""
    row = AccountRisk.objects.filter(account_id=account_id).first()
    if row is None:
        return None
    return RiskView(row.risk, reason_texts(row.reasons), row.account_id)
