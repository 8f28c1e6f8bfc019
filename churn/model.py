"""The churn model: a logistic regression over standardized features (churn.features), trained
and measured on a time split so the figures shown beside a score are honest.

With H = CHURN_HORIZON_DAYS and today t:

- training: features as of t - 2H, label = churn in (t - 2H, t - H];
- held out: features as of t - H, label = churn in (t - H, t]: a later period, customers' later
  states and churns the training never saw. AUC, Brier score and a reliability table (mean
  predicted risk against observed churn share, per tenth of the risk scale) come from here;
- the stored model is then refitted on both periods (the same method; the figures describe it),
  and scores every customer as of t (churn.scoring).

Nothing is trained (and nothing scored) without CHURN_MIN_CHURNS churns in the training period
and CHURN_MIN_HELD_OUT_CHURNS in the held-out one: churn_status() says which is missing.

The parameters are stored as JSON (FORMAT): feature names, means, scales, weights, intercept.
Scoring and explaining are a matrix product in numpy; scikit-learn is needed to train only."""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from churn import features
from churn.models import ChurnModel

logger = logging.getLogger(__name__)

FORMAT = "closeloop.churn/1"
KEEP_MODELS = 3
REASONS = 3  # the largest contributions kept per customer
RELIABILITY_BINS = 10


class ModelFormatError(ValueError):
    """Stored parameters that are not a FORMAT document."""


@dataclass(frozen=True)
class Parameters:
    names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def as_json(self) -> dict:
        return {
            "format": FORMAT,
            "features": self.names,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": float(self.intercept),
        }

    @classmethod
    def from_json(cls, doc) -> Parameters:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ModelFormatError(f"not a {FORMAT} document")
        names = doc.get("features")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ModelFormatError("features are not names")
        arrays = []
        for key in ("mean", "scale", "coef"):
            values = doc.get(key)
            if (
                not isinstance(values, list)
                or len(values) != len(names)
                or not all(isinstance(v, int | float) and math.isfinite(v) for v in values)
            ):
                raise ModelFormatError(f"{key} does not match the features")
            arrays.append(np.array(values, dtype=float))
        intercept = doc.get("intercept")
        if not isinstance(intercept, int | float) or not math.isfinite(intercept) or (arrays[1] <= 0).any():
            raise ModelFormatError("malformed intercept or scale")
        return cls(names, arrays[0], arrays[1], arrays[2], float(intercept))

    def standardize(self, values: np.ndarray) -> np.ndarray:
        """NaN (a missing latest score) becomes the training mean: it contributes nothing."""
        filled = np.where(np.isnan(values), self.mean, values)
        return (filled - self.mean) / self.scale

    def risk(self, values: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.standardize(values) @ self.coef + self.intercept)))

    def contributions(self, values: np.ndarray) -> np.ndarray:
        """Each feature's share of each row's log-odds, relative to an average customer."""
        return self.standardize(values) * self.coef


def fit(table: features.FeatureTable) -> Parameters:
    """Standardize, then an L2-regularized logistic regression (one thread: a shared machine)."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    values = table.values
    present = (~np.isnan(values)).sum(axis=0)
    mean = np.divide(
        np.nansum(values, axis=0),
        present,
        out=np.zeros(values.shape[1]),
        where=present > 0,
    )
    filled = np.where(np.isnan(values), mean, values)
    scale = filled.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    with threadpool_limits(limits=1):
        classifier = LogisticRegression(C=1.0, max_iter=1000).fit((filled - mean) / scale, table.churned)
    return Parameters(
        table.names,
        mean,
        scale,
        classifier.coef_[0].copy(),
        float(classifier.intercept_[0]),
    )


def reliability(predicted: np.ndarray, observed: np.ndarray, bins: int = RELIABILITY_BINS) -> list[dict]:
    """Per tenth of the risk scale holding customers: how many, mean predicted risk, observed churn share."""
    rows = []
    index = np.minimum((predicted * bins).astype(int), bins - 1)
    for b in range(bins):
        chosen = index == b
        n = int(chosen.sum())
        if n:
            rows.append(
                {
                    "low": b / bins,
                    "high": (b + 1) / bins,
                    "customers": n,
                    "predicted": float(predicted[chosen].mean()),
                    "observed": float(observed[chosen].mean()),
                }
            )
    return rows


def evaluate(parameters: Parameters, table: features.FeatureTable) -> dict:
    from sklearn.metrics import brier_score_loss, roc_auc_score

    predicted = parameters.risk(table.values)
    observed = table.churned.astype(float)
    both = 0 < observed.sum() < len(observed)
    return {
        "auc": float(roc_auc_score(observed, predicted)) if both else None,
        "brier": float(brier_score_loss(observed, predicted)) if len(observed) else None,
        "base_rate": float(observed.mean()) if len(observed) else 0.0,
        "reliability": reliability(predicted, observed),
    }


@dataclass(frozen=True)
class Status:
    """Why there is or is not a model: what the pages say instead of a score."""

    outcomes: int  # outcome events recorded
    churns: int  # customers who churned in the training period
    held_out_churns: int
    needed: int
    held_out_needed: int

    @property
    def enough(self) -> bool:
        return self.churns >= self.needed and self.held_out_churns >= self.held_out_needed


def reference_dates(now: datetime, horizon_days: int) -> tuple[datetime, datetime]:
    return now - timedelta(days=2 * horizon_days), now - timedelta(days=horizon_days)


def train_churn_model(
    *, now: datetime | None = None, subject: str = features.CUSTOMER
) -> tuple[ChurnModel | None, Status]:
    """Build both periods' tables of customers (or accounts), and when each holds enough churns,
    fit on the earlier, measure on the later, refit on both and store. (None, status) when there is
    too little to learn from."""
    from outcomes.models import OutcomeEvent

    now = now or timezone.now()
    horizon = settings.CHURN_HORIZON_DAYS
    train_at, test_at = reference_dates(now, horizon)
    started = time.monotonic()
    causes = features.frequent_root_causes(at=train_at)
    train = features.population(at=train_at, root_causes=causes, horizon_days=horizon, subject=subject)
    test = features.population(at=test_at, root_causes=causes, horizon_days=horizon, subject=subject)
    status = Status(
        OutcomeEvent.objects.count(),
        int(train.churned.sum()),
        int(test.churned.sum()),
        settings.CHURN_MIN_CHURNS,
        settings.CHURN_MIN_HELD_OUT_CHURNS,
    )
    if not status.enough or len(train.customer_ids) == status.churns:
        logger.info(
            "churn model not trained",
            extra={"subject": subject, "churns": status.churns, "held_out_churns": status.held_out_churns},
        )
        return None, status
    scores = evaluate(fit(train), test)
    both = features.FeatureTable(
        np.concatenate([train.customer_ids, test.customer_ids]),
        train.names,
        np.vstack([train.values, test.values]),
        np.concatenate([train.churned, test.churned]),
    )
    parameters = fit(both)
    with transaction.atomic():
        model = ChurnModel.objects.create(
            subject=subject,
            created_at=now,
            horizon_days=horizon,
            train_reference_at=train_at,
            reference_at=test_at,
            trained_on=len(train.customer_ids),
            churns=status.churns,
            held_out=len(test.customer_ids),
            held_out_churns=status.held_out_churns,
            parameters=parameters.as_json(),
            **scores,
        )
    logger.info(
        "churn model trained",
        extra={
            "model_id": model.pk,
            "subject": subject,
            "trained_on": model.trained_on,
            "auc": model.auc,
            "brier": model.brier,
            "seconds": round(time.monotonic() - started, 2),
        },
    )
    return model, status


def forget_old_models() -> None:
    """Keep the newest few of each subject (after a scoring run has moved every risk to the newest)."""
    for subject in ChurnModel.Subject.values:
        models = ChurnModel.objects.filter(subject=subject).order_by("-created_at", "-id")
        keep = list(models.values_list("id", flat=True)[:KEEP_MODELS])
        ChurnModel.objects.filter(subject=subject).exclude(id__in=keep).delete()


def newest_model(subject: str = features.CUSTOMER) -> ChurnModel | None:
    return ChurnModel.objects.filter(subject=subject).order_by("-created_at", "-id").first()


def reasons_json(
    contributions: np.ndarray, names: list[str], values: np.ndarray, mean: np.ndarray, k: int = REASONS
) -> list[str]:
    """Per row, as a JSON array, the k features that raise the risk most (contributions over 0.01
    only), largest first: {"feature", "high" (above the average customer), "contribution"
    (log-odds)}. Gathered with numpy and written from ready-made fragments: a million rows cost
    no numpy scalar and no json.dumps per reason."""
    k = min(k, contributions.shape[1])
    order = np.argsort(-contributions, axis=1)[:, :k]
    taken = np.take_along_axis(contributions, order, axis=1)
    high = np.take_along_axis(values > mean, order, axis=1)  # NaN compares False: "not above"
    heads = [
        (
            f'{{"feature":{json.dumps(name)},"high":false,"contribution":',
            f'{{"feature":{json.dumps(name)},"high":true,"contribution":',
        )
        for name in names
    ]
    out = []
    for columns, amounts, highs in zip(order.tolist(), np.round(taken, 3).tolist(), high.tolist(), strict=True):
        parts = []
        for column, amount, is_high in zip(columns, amounts, highs, strict=True):
            if amount <= 0.01:
                break
            parts.append(f"{heads[column][is_high]}{amount}}}")
        out.append("[" + ",".join(parts) + "]")
    return out
