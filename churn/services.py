"""Retraining and rescoring, the one entry the nightly task and `manage.py churn_train` share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from churn.model import Status, forget_old_models, train_churn_model
from churn.scoring import churn_score_all


@dataclass(frozen=True)
class RetrainResult:
    status: Status
    model_id: int | None = None
    scored: int = 0
    auc: float | None = None
    brier: float | None = None

    def as_dict(self) -> dict:
        return {
            "trained": self.model_id is not None,
            "model_id": self.model_id,
            "scored": self.scored,
            "auc": self.auc,
            "brier": self.brier,
            "churns": self.status.churns,
            "held_out_churns": self.status.held_out_churns,
        }


def churn_retrain(*, now: datetime | None = None) -> RetrainResult:
    """Train on the product's history, and when a model came out, score every customer and account
    with it and drop the oldest models. Without enough churns, the scores of the last model stay."""
    now = now or timezone.now()
    model, status = train_churn_model(now=now)
    if model is None:
        return RetrainResult(status)
    scored = churn_score_all(model=model, now=now)
    forget_old_models()
    return RetrainResult(status, model.pk, scored, model.auc, model.brier)
