"""The customer's churn risk copied onto their open cases (Case.customer_churn_risk), the key the
inbox's "churn risk" order walks an index by. The churn app's scoring run calls this after it has
written every customer's risk; a case opening copies its customer's risk itself (opening.py).

It is a copy of the customer's figure, not a change to the case: no event, no version bump, and
closed cases keep the risk they had when they closed."""

from __future__ import annotations

from django.db import connection, transaction

_REFRESH = """
UPDATE cases_case AS c SET customer_churn_risk = COALESCE(cu.churn_risk, 0)
FROM surveys_customer cu
WHERE c.customer_id = cu.id AND c.status <> 'closed' AND c.customer_churn_risk <> COALESCE(cu.churn_risk, 0)
"""


def open_cases_churn_risk_refresh() -> int:
    """One UPDATE of the open cases whose customer's risk changed; the number of cases changed."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_REFRESH)
        return cursor.rowcount
