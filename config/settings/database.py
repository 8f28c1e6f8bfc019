"""The database: the primary (DATABASE_URL) and, optionally, a streaming replica that serves the
reports, their exports and their API (DATABASE_REPLICA_URL; core.replica routes the reads and
falls back to the primary; docs/deployment.md "Read replica")."""

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env, envint
from config.settings.basics import VAR_DIR

DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'closeloop.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 60))}
_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if _SQLITE:
    # Django's SQLite backend with the product's triggers kept when a migration rebuilds a table
    # (core/sqlite/base.py).
    DATABASES["default"]["ENGINE"] = "core.sqlite"
    # Web, worker and beat share one SQLite file in the embedded setup: WAL lets readers run
    # beside the single writer and IMMEDIATE transactions queue writers instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    # Django's PostgreSQL backend, with times read by psycopg's C loader (core/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "core.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", envint("DB_CONNECT_TIMEOUT", 5))
    # A statement run on a server-binding cursor (core.prepared) is prepared after this many runs
    # on a connection (psycopg's default; Django's own client-binding cursors never prepare).
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Behind PgBouncer in transaction mode (docs/deployment.md "Behind PgBouncer") consecutive
# transactions of one connection may run on different server sessions, so nothing may outlive a
# transaction: no server-side cursors (QuerySet.iterator() then reads its whole result at once)
# and no prepared statements (Django prepares none unless asked; the ingest server's own
# connection prepares its INSERT, and core.prepared's cursors their statement, when the database
# is direct, not when pooled).
# "session" (the default) is a direct connection or a session-mode pooler: nothing changes.
DATABASE_POOL_MODE = env("DATABASE_POOL_MODE", "session").strip().lower()
if DATABASE_POOL_MODE not in {"session", "transaction"}:
    raise ImproperlyConfigured(f"DATABASE_POOL_MODE must be session or transaction, got {DATABASE_POOL_MODE!r}")
DATABASE_TRANSACTION_POOLED = DATABASE_POOL_MODE == "transaction" and not _SQLITE
if DATABASE_TRANSACTION_POOLED:
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DB_NAME", "test_closeloop")}

# --- Read replica (core.replica) -----------------------------------------------------------
# Reports, exports and the reports API read from it when it is set, answers, and is no more than
# REPLICA_MAX_LAG_SECONDS behind; otherwise, and for REPLICA_READ_YOUR_WRITES_SECONDS after a
# person wrote anything, they read from the primary.
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", "")
REPLICA_MAX_LAG_SECONDS = envint("REPLICA_MAX_LAG_SECONDS", 30)
REPLICA_READ_YOUR_WRITES_SECONDS = envint("REPLICA_READ_YOUR_WRITES_SECONDS", 10)
if DATABASE_REPLICA_URL:
    if _SQLITE:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs PostgreSQL as DATABASE_URL (a streaming replica of it).")
    _replica = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=DATABASES["default"]["CONN_MAX_AGE"])
    _replica["ENGINE"] = DATABASES["default"]["ENGINE"]
    _replica["OPTIONS"] = {**DATABASES["default"]["OPTIONS"], **_replica.get("OPTIONS", {}),
                          "connect_timeout": envint("DB_REPLICA_CONNECT_TIMEOUT", 2)}
    _replica["CONN_HEALTH_CHECKS"] = True
    _replica["DISABLE_SERVER_SIDE_CURSORS"] = DATABASES["default"].get("DISABLE_SERVER_SIDE_CURSORS", False)
    # The test run's replica alias reads the test database through the primary's connection.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]

# --- Partitioned history (core.partitions; docs/deployment.md "Partitioned history") ----------
# Tables that only grow, partitioned by month on their time column on PostgreSQL (SQLite: plain
# tables). The beat's daily maintenance creates partitions ahead and drops whole months past each
# table's retention, in days after the month ends; 0 keeps every month.
PARTITIONED_TABLES = {
    "cases_caseevent": {"column": "created_at", "retention_days": envint("CASE_EVENTS_RETENTION_DAYS", 0)},
    "outcomes_outcomeevent": {"column": "occurred_at", "retention_days": envint("OUTCOME_EVENTS_RETENTION_DAYS", 0),
                              "key_table": "outcomes_outcomeeventkey"},
    # Whole rows of webhook deliveries (WEBHOOK_BODY_RETENTION_DAYS forgets only bodies): a delivery
    # not processed (pending, processing, failed) is never dropped, its month's other rows are.
    "surveys_webhookdelivery": {"column": "received_at", "retention_days": envint("WEBHOOK_DELIVERIES_RETENTION_DAYS", 0),
                                "key_table": "surveys_webhookdeliverykey", "key_row": "row_id",
                                "keep": "status <> 'processed'"},
    # Notifications of every channel (the in-app centre's too); one still to send is never dropped.
    "cases_notification": {"column": "created_at", "retention_days": envint("NOTIFICATIONS_RETENTION_DAYS", 0),
                           "key_table": "cases_notificationkey", "key_row": "row_id",
                           "keep": "status IN ('pending', 'sending')"},
    # Survey responses, the product's history: partitions ahead and old months for imported answers,
    # never dropped by age (the foreign keys into them go through surveys_responsekey).
    "surveys_surveyresponse": {"column": "answered_at", "retention_days": 0},
}
