"""What the churn model reads about a customer, or about an account, as of a reference date `at`,
from the product's own history only (responses, cases, outcomes, accounts), computed in the
database a range of ids at a time, so a million customers are a few dozen aggregate queries, never
a query each.

Who is in the population at `at`: a customer (not erased, not merged) with a response in the
year before `at`, who had not churned since their last response (a churn after their last
answer means they are gone; one followed by new answers, a win-back, does not). An account: one
with a response of any of its contacts in that year, not churned since the last of them.

The label (training and evaluation only): a churn event of the customer, or of an account they
are a contact of, within `horizon` days after `at`; for an account, a churn event naming it.

An account's features are the customer's read over every contact's answers and cases together
(its latest NPS is the latest any contact gave; its cases are all its contacts' cases), and its
value is the account's own.

Every feature is a number; a missing latest score is NaN, which the model replaces by its
training mean (so it contributes nothing) while the matching `*_missing` flag carries the fact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection
from django.utils.dateparse import parse_datetime

WINDOW_DAYS = 365  # the history a feature looks at
ROOT_CAUSE_DAYS = 180  # "root causes of recent cases": cases closed this long before `at`
CAP_DAYS = 365  # "days since ..." when there was nothing: as long ago as the window reaches
MAX_ROOT_CAUSES = 8  # the most frequent root causes in the training period each get a feature

BASE_FEATURES = [
    "nps_last",
    "nps_trend",
    "nps_missing",
    "csat_last",
    "csat_trend",
    "csat_missing",
    "ces_last",
    "ces_trend",
    "ces_missing",
    "responses",
    "unsolicited",
    "sentiment",
    "days_since_answer",
    "days_since_contact",
    "open_cases",
    "overdue_cases",
    "cases_year",
    "account_value",
]


def root_cause_feature(root_cause_id: int) -> str:
    return f"root_cause:{root_cause_id}"


@dataclass(frozen=True)
class FeatureTable:
    """Rows of customers or accounts (ids ascending; `customer_ids` holds either) by `names` columns;
    `churned` only when asked for."""

    customer_ids: np.ndarray
    names: list[str]
    values: np.ndarray
    churned: np.ndarray | None = None


CUSTOMER, ACCOUNT = "customer", "account"  # what a table's rows are: the model of each is its own

# The latest NPS, CSAT and CES of a subject by a window (the newest answer that has the metric;
# the response id settles two answers of the same moment, as an account's contacts may give).
# {sid}: the subject's id; {source}: the responses with it; {owner}: the subject's own row, which
# the population needs (a customer not erased, not merged) and which holds its value; its range
# is stated again there, so the join reads the range's rows only, not every row before it.
_RESPONSES = """
WITH scored AS (
    SELECT {sid} AS sid, r.id, r.answered_at, r.feedback_kind, r.sentiment, CAST(r.nps AS DOUBLE PRECISION) AS nps,
           CAST(r.csat - r.csat_scale_min AS DOUBLE PRECISION) / NULLIF(r.csat_scale_max - r.csat_scale_min, 0) AS csat,
           CASE WHEN r.ces_high_is_easy = FALSE
                THEN 1 - CAST(r.ces - r.ces_scale_min AS DOUBLE PRECISION) / NULLIF(r.ces_scale_max - r.ces_scale_min, 0)
                ELSE CAST(r.ces - r.ces_scale_min AS DOUBLE PRECISION) / NULLIF(r.ces_scale_max - r.ces_scale_min, 0)
           END AS ces
    FROM {source}
    WHERE {sid} BETWEEN %(low)s AND %(high)s AND r.answered_at > %(since)s AND r.answered_at <= %(at)s
),
latest AS (
    SELECT s.*,
           first_value(s.nps) OVER (PARTITION BY s.sid ORDER BY s.nps IS NULL, s.answered_at DESC, s.id DESC) AS nps_last,
           first_value(s.csat) OVER (PARTITION BY s.sid ORDER BY s.csat IS NULL, s.answered_at DESC, s.id DESC) AS csat_last,
           first_value(s.ces) OVER (PARTITION BY s.sid ORDER BY s.ces IS NULL, s.answered_at DESC, s.id DESC) AS ces_last
    FROM scored s
)
SELECT s.sid, count(*), count(*) FILTER (WHERE s.feedback_kind <> 'survey'), avg(s.sentiment),
       max(s.answered_at),
       max(s.nps_last), sum(s.nps), count(s.nps),
       max(s.csat_last), sum(s.csat), count(s.csat),
       max(s.ces_last), sum(s.ces), count(s.ces),
       {value}
FROM latest s {owner}
GROUP BY s.sid ORDER BY s.sid
"""
_LIVE = "cu.erased_at IS NULL AND cu.merged_into_id IS NULL"

_ACCOUNT_VALUES = """
SELECT k.customer_id, CAST(max(a.value) AS DOUBLE PRECISION) FROM customers_contact k JOIN customers_account a ON a.id = k.account_id
WHERE k.customer_id BETWEEN %(low)s AND %(high)s AND a.value IS NOT NULL GROUP BY k.customer_id
"""

# A customer's churns: their own, and their accounts'. An account's: its own (the events naming it).
_CHURNS_CUSTOMER = """
SELECT x.customer_id, max(x.occurred_at) FILTER (WHERE x.occurred_at <= %(at)s),
       max(CASE WHEN x.occurred_at > %(at)s AND x.occurred_at <= %(until)s THEN 1 ELSE 0 END)
FROM (
    SELECT e.customer_id, e.occurred_at FROM outcomes_outcomeevent e
    WHERE e.kind = 'churn' AND e.customer_id BETWEEN %(low)s AND %(high)s AND e.occurred_at <= %(until)s
    UNION ALL
    SELECT k.customer_id, e.occurred_at FROM outcomes_outcomeevent e JOIN customers_contact k ON k.account_id = e.account_id
    WHERE e.kind = 'churn' AND k.customer_id BETWEEN %(low)s AND %(high)s AND e.occurred_at <= %(until)s
) x GROUP BY x.customer_id
"""
_CHURNS_ACCOUNT = """
SELECT e.account_id, max(e.occurred_at) FILTER (WHERE e.occurred_at <= %(at)s),
       max(CASE WHEN e.occurred_at > %(at)s AND e.occurred_at <= %(until)s THEN 1 ELSE 0 END)
FROM outcomes_outcomeevent e
WHERE e.kind = 'churn' AND e.account_id BETWEEN %(low)s AND %(high)s AND e.occurred_at <= %(until)s
GROUP BY e.account_id
"""

_SQL = {
    CUSTOMER: {
        "responses": _RESPONSES.format(
            sid="r.customer_id", source="surveys_surveyresponse r",
            owner=f"JOIN surveys_customer cu ON cu.id = s.sid WHERE cu.id BETWEEN %(low)s AND %(high)s AND {_LIVE}",
            value="CAST(max(cu.account_value) AS DOUBLE PRECISION)",
        ),
        "churns": _CHURNS_CUSTOMER,
        "cases": ("c.customer_id", "cases_case c"),
        "table": "surveys_customer",
    },
    ACCOUNT: {
        # Every answer of the account's contacts (not erased, not merged) is the account's.
        "responses": _RESPONSES.format(
            sid="k.account_id",
            source=f"customers_contact k JOIN surveys_surveyresponse r ON r.customer_id = k.customer_id "
                   f"JOIN surveys_customer cu ON cu.id = k.customer_id AND {_LIVE}",
            owner="JOIN customers_account a ON a.id = s.sid WHERE a.id BETWEEN %(low)s AND %(high)s",
            value="CAST(max(a.value) AS DOUBLE PRECISION)",
        ),
        "churns": _CHURNS_ACCOUNT,
        "cases": ("k.account_id", "customers_contact k JOIN cases_case c ON c.customer_id = k.customer_id"),
        "table": "customers_account",
    },
}


def _cases_sql(root_causes: list[int], subject: str = CUSTOMER) -> str:
    sid, source = _SQL[subject]["cases"]
    per_cause = "".join(
        f", count(*) FILTER (WHERE c.root_cause_id = {int(cause)} AND c.closed_at > %(recent)s AND c.closed_at <= %(at)s)"
        for cause in root_causes
    )
    return f"""
SELECT {sid},
       count(*) FILTER (WHERE c.closed_at IS NULL OR c.closed_at > %(at)s),
       count(*) FILTER (WHERE (c.closed_at IS NULL OR c.closed_at > %(at)s) AND c.resolution_due < %(at)s),
       count(*) FILTER (WHERE c.created_at > %(since)s),
       max(c.first_contacted_at) FILTER (WHERE c.first_contacted_at <= %(at)s){per_cause}
FROM {source}
WHERE {sid} BETWEEN %(low)s AND %(high)s AND c.created_at <= %(at)s
GROUP BY {sid}
"""


def _params(**values) -> dict:
    """Datetimes as the database compares them: PostgreSQL takes them as they are, SQLite as the
    naive UTC text its columns hold (Python's own adapter would append "+00:00")."""
    return {
        key: connection.ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value
        for key, value in values.items()
    }


def _moment(value) -> datetime | None:
    """An aggregate's datetime: PostgreSQL returns one, SQLite the column's UTC text."""
    if value is None or isinstance(value, datetime):
        return value
    return parse_datetime(value).replace(tzinfo=UTC)


def _days(at: datetime, moments) -> np.ndarray:
    seconds = np.array(
        [(at - m).total_seconds() if m is not None else np.nan for m in moments],
        dtype=float,
    )
    return np.clip(np.where(np.isnan(seconds), CAP_DAYS * 86400.0, seconds) / 86400.0, 0, CAP_DAYS)


def _last_and_trend(last, total, count) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latest value (NaN when none), its change from the mean of the earlier ones (0 with fewer
    than two), and the missing flag."""
    last = np.array([np.nan if v is None else float(v) for v in last])
    total = np.array([0.0 if v is None else float(v) for v in total])
    count = np.array(count, dtype=float)
    earlier = np.divide(
        total - np.nan_to_num(last),
        count - 1,
        out=np.full_like(total, np.nan),
        where=count >= 2,
    )
    trend = np.where(count >= 2, last - earlier, 0.0)
    return last, np.nan_to_num(trend), np.isnan(last).astype(float)


def feature_table(
    *,
    at: datetime,
    low: int,
    high: int,
    root_causes: list[int],
    horizon_days: int | None = None,
    subject: str = CUSTOMER,
) -> FeatureTable:
    """The population's features for customer (or account) ids low..high as of `at`; with
    `horizon_days`, the label too (churn within that many days after `at`)."""
    params = _params(
        low=low,
        high=high,
        at=at,
        since=at - timedelta(days=WINDOW_DAYS),
        recent=at - timedelta(days=ROOT_CAUSE_DAYS),
        until=at + timedelta(days=horizon_days or 0),
    )
    with connection.cursor() as cursor:
        cursor.execute(_SQL[subject]["responses"], params)
        responses = [(*row[:4], _moment(row[4]), *row[5:]) for row in cursor.fetchall()]
        cursor.execute(_SQL[subject]["churns"], params)
        churns = {row[0]: (_moment(row[1]), row[2]) for row in cursor.fetchall()}
        # Gone: churned at or before `at`, with no answer since.
        responses = [row for row in responses if not (churns.get(row[0], (None,))[0] and churns[row[0]][0] >= row[4])]
        if not responses:
            return FeatureTable(
                np.zeros(0, dtype=np.int64),
                names(root_causes),
                np.zeros((0, len(names(root_causes)))),
                np.zeros(0, dtype=bool) if horizon_days is not None else None,
            )
        cursor.execute(_cases_sql(root_causes, subject), params)
        cases = {row[0]: (*row[1:4], _moment(row[4]), *row[5:]) for row in cursor.fetchall()}
        account_values = {}
        if subject == CUSTOMER:  # a customer's value is the larger of their own and their accounts'
            cursor.execute(_ACCOUNT_VALUES, params)
            account_values = dict(cursor.fetchall())

    columns = list(zip(*responses, strict=True))
    ids = np.array(columns[0], dtype=np.int64)
    nps = _last_and_trend(columns[5], columns[6], columns[7])
    csat = _last_and_trend(columns[8], columns[9], columns[10])
    ces = _last_and_trend(columns[11], columns[12], columns[13])
    empty_cases = (0, 0, 0, None) + (0,) * len(root_causes)
    case_rows = [cases.get(customer_id, empty_cases) for customer_id in columns[0]]
    case_columns = list(zip(*case_rows, strict=True))
    value = np.array(
        [
            max(v or 0.0, account_values.get(customer_id) or 0.0)
            for customer_id, v in zip(columns[0], columns[14], strict=True)
        ]
    )
    table = [
        *nps,
        *csat,
        *ces,
        np.array(columns[1], dtype=float),
        np.array(columns[2], dtype=float),
        np.array([0.0 if v is None else float(v) for v in columns[3]]),
        _days(at, columns[4]),
        _days(at, case_columns[3]),
        np.array(case_columns[0], dtype=float),
        np.array(case_columns[1], dtype=float),
        np.array(case_columns[2], dtype=float),
        np.log1p(np.maximum(value, 0.0)),
        *(np.array(case_columns[4 + i], dtype=float) for i in range(len(root_causes))),
    ]
    churned = None
    if horizon_days is not None:
        churned = np.array([bool(churns.get(customer_id, (None, False))[1]) for customer_id in columns[0]])
    return FeatureTable(ids, names(root_causes), np.column_stack(table), churned)


def names(root_causes: list[int]) -> list[str]:
    return BASE_FEATURES + [root_cause_feature(cause) for cause in root_causes]


def id_ranges(step: int, subject: str = CUSTOMER):
    """(low, high) id ranges of `step` ids covering every customer (or account)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(id), max(id) FROM {_SQL[subject]['table']}")
        first, last = cursor.fetchone()
    if first is None:
        return
    for low in range(first, last + 1, step):
        yield low, min(low + step - 1, last)


def frequent_root_causes(*, at: datetime, limit: int = MAX_ROOT_CAUSES) -> list[int]:
    """The root causes most often given to customers' cases closed in the year before `at`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT root_cause_id FROM cases_case WHERE root_cause_id IS NOT NULL AND customer_id IS NOT NULL"
            " AND closed_at > %s AND closed_at <= %s GROUP BY root_cause_id ORDER BY count(*) DESC, root_cause_id"
            " LIMIT %s",
            [*_params(since=at - timedelta(days=WINDOW_DAYS), at=at).values(), limit],
        )
        return [row[0] for row in cursor.fetchall()]


def population(
    *,
    at: datetime,
    root_causes: list[int],
    horizon_days: int | None = None,
    step: int = 20_000,
    subject: str = CUSTOMER,
) -> FeatureTable:
    """Every range's table, stacked (training and evaluation; scoring goes range by range)."""
    parts = [
        feature_table(
            at=at,
            low=low,
            high=high,
            root_causes=root_causes,
            horizon_days=horizon_days,
            subject=subject,
        )
        for low, high in id_ranges(step, subject)
    ]
    parts = [part for part in parts if len(part.customer_ids)]
    if not parts:
        return FeatureTable(
            np.zeros(0, dtype=np.int64),
            names(root_causes),
            np.zeros((0, len(names(root_causes)))),
            np.zeros(0, dtype=bool) if horizon_days is not None else None,
        )
    return FeatureTable(
        np.concatenate([p.customer_ids for p in parts]),
        parts[0].names,
        np.vstack([p.values for p in parts]),
        np.concatenate([p.churned for p in parts]) if horizon_days is not None else None,
    )
