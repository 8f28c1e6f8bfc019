"""Retraining and rescoring, the one entry the nightly task and `manage.py churn_train` share."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from django.utils import timezone

from churn.features import ACCOUNT, CUSTOMER
from churn.model import Status, forget_old_models, train_churn_model
from churn.scoring import churn_score_all


@dataclass(frozen=True)
class RetrainResult:
    """What one model's retraining did (the customers'; `accounts` holds the accounts' beside it)."""

    status: Status
    model_id: int | None = None
    scored: int = 0
    auc: float | None = None
    brier: float | None = None
    accounts: RetrainResult | None = None

    def as_dict(self) -> dict:
        return {
            "trained": self.model_id is not None,
            "model_id": self.model_id,
            "scored": self.scored,
            "auc": self.auc,
            "brier": self.brier,
            "churns": self.status.churns,
            "held_out_churns": self.status.held_out_churns,
            **({"accounts": self.accounts.as_dict()} if self.accounts is not None else {}),
        }


def _retrain(subject: str, now: datetime) -> RetrainResult:
    model, status = train_churn_model(now=now, subject=subject)
    if model is None:
        return RetrainResult(status)
    scored = churn_score_all(model=model, now=now)
    return RetrainResult(status, model.pk, scored, model.auc, model.brier)


def churn_retrain(*, now: datetime | None = None) -> RetrainResult:
    """Train the customers' model and the accounts' on the product's history, and score every
    customer and every account with the one that came out; drop the oldest models. Where too few
    churns were recorded (of customers, or of accounts), that kind's last scores stay."""
    now = now or timezone.now()
    customers = _retrain(CUSTOMER, now)
    accounts = _retrain(ACCOUNT, now)
    forget_old_models()
    return replace(customers, accounts=accounts)
