"""Scoring every customer (or every account) with the newest churn model of its kind, a range of ids
at a time: one feature table (churn.features), one matrix product, and one statement writing both
the risk with its reasons and the copy on surveys.Customer.churn_risk (customers_account.churn_risk).
Then those who left the population lose their score, and open cases get the copy the inbox sorts
by (cases.services.open_cases_churn_risk_refresh).

    churn_score_all(*, model, now=None) -> int    # customers (or accounts) scored

Runs after training (churn.tasks, `manage.py churn_train`); a second run with the same model
rewrites the same numbers."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from cases.services import open_cases_churn_risk_refresh
from churn import features
from churn.model import Parameters, reasons_json
from churn.models import ChurnModel

logger = logging.getLogger(__name__)

STEP = 20_000  # customer ids per range: ~20 k rows of features in memory, one write of each kind

# Both writes of a range in one statement (one transaction, the arrays sent once): the risk with
# its reasons, and the customer's copy that segments, rules, routing and reports read.
# PostgreSQL only (unnest of arrays, a data-modifying CTE); SQLite, in process, runs the two
# portable statements below once a row (docs/churn.md says why there are two forms).
# {risk}: the risk table; {key}: its subject column; {copy}: the subject's own table, whose
# churn_risk column is the copy segments, rules, routing, the inbox and reports read.
_WRITE_POSTGRESQL = """
WITH t AS (SELECT * FROM unnest(%(ids)s::bigint[], %(risks)s::float8[], %(reasons)s::text[]) AS t(c, r, x)),
risks AS (
    INSERT INTO {risk} ({key}, model_id, risk, reasons, scored_at)
    SELECT c, %(model)s, r, x::jsonb, %(now)s FROM t
    ON CONFLICT ({key}) DO UPDATE
    SET model_id = EXCLUDED.model_id, risk = EXCLUDED.risk, reasons = EXCLUDED.reasons, scored_at = EXCLUDED.scored_at
)
UPDATE {copy} AS cu SET churn_risk = t.r FROM t WHERE cu.id = t.c AND cu.churn_risk IS DISTINCT FROM t.r
"""
_WRITE_RISK = """
INSERT INTO {risk} ({key}, model_id, risk, reasons, scored_at) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT ({key}) DO UPDATE
SET model_id = excluded.model_id, risk = excluded.risk, reasons = excluded.reasons, scored_at = excluded.scored_at
"""
_WRITE_COPY = "UPDATE {copy} SET churn_risk = %s WHERE id = %s AND churn_risk IS DISTINCT FROM %s"

# Out of the population (churned, erased, no answer for a year): no score rather than an old one.
_FORGET_STALE = [
    """UPDATE {copy} AS cu SET churn_risk = NULL WHERE cu.churn_risk IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM {risk} r WHERE r.{key} = cu.id AND r.model_id = %(model)s)""",
    "DELETE FROM {risk} WHERE model_id <> %(model)s",
]

_TABLES = {
    features.CUSTOMER: {"risk": "churn_customerrisk", "key": "customer_id", "copy": "surveys_customer"},
    features.ACCOUNT: {"risk": "churn_accountrisk", "key": "account_id", "copy": "customers_account"},
}


def _root_causes(names: list[str]) -> list[int]:
    prefix = features.root_cause_feature(0)[:-1]
    return [int(name.removeprefix(prefix)) for name in names if name.startswith(prefix)]


def _write_arrays(tables: dict, model_id: int, now: datetime, ids: list[int], risks: list[float],
                  reasons: list[str]) -> None:
    """PostgreSQL: the range's arrays sent once, one statement."""
    with connection.cursor() as cursor:
        cursor.execute(_WRITE_POSTGRESQL.format(**tables),
                       {"model": model_id, "now": now, "ids": ids, "risks": risks, "reasons": reasons})


def _write_rows(tables: dict, model_id: int, now: datetime, ids: list[int], risks: list[float],
                reasons: list[str]) -> None:
    """Any database (SQLite): the two portable statements once a row, in one transaction."""
    scored_at = connection.ops.adapt_datetimefield_value(now)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_WRITE_RISK.format(**tables),
                           [(c, model_id, r, x, scored_at) for c, r, x in zip(ids, risks, reasons, strict=True)])
        cursor.executemany(_WRITE_COPY.format(**tables), [(r, c, r) for c, r in zip(ids, risks, strict=True)])


def _write(tables: dict, model_id: int, now: datetime, ids: list[int], risks: list[float], reasons: list[str]) -> None:
    (_write_arrays if connection.vendor == "postgresql" else _write_rows)(tables, model_id, now, ids, risks, reasons)


def churn_score_all(*, model: ChurnModel, now: datetime | None = None, step: int = STEP) -> int:
    """Score every customer, or every account, with `model` (its subject says which)."""
    now = now or timezone.now()
    parameters = Parameters.from_json(model.parameters)
    causes = _root_causes(parameters.names)
    subject = model.subject
    tables = _TABLES[subject]
    started = time.monotonic()
    scored = 0
    for low, high in features.id_ranges(step, subject):
        table = features.feature_table(at=now, low=low, high=high, root_causes=causes, subject=subject)
        if not len(table.customer_ids):
            continue
        if table.names != parameters.names:  # the code's features changed since training
            raise ValueError("the stored churn model's features are not the ones computed now: retrain it")
        risks = parameters.risk(table.values)
        reasons = reasons_json(
            parameters.contributions(table.values),
            table.names,
            table.values,
            parameters.mean,
        )
        _write(tables, model.pk, now, table.customer_ids.tolist(), risks.tolist(), reasons)
        scored += len(table.customer_ids)
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in _FORGET_STALE:
            cursor.execute(statement.format(**tables), {"model": model.pk})
    if subject == features.CUSTOMER:
        open_cases_churn_risk_refresh()  # the inbox's "churn risk" order reads a copy on each open case
    ChurnModel.objects.filter(pk=model.pk).update(scored=scored)
    logger.info(
        "churn risk scored",
        extra={
            "model_id": model.pk,
            "subject": subject,
            "scored": scored,
            "seconds": round(time.monotonic() - started, 2),
        },
    )
    return scored
