"""Queues per kind of work, and which task goes to which (docs/deployment.md "Queues and one beat").

Each kind scales and fails on its own: a backlog of re-tagging never delays a webhook, a slow mail
server never delays the SLA sweep. A worker started without -Q consumes every queue here (`make
run`, the Procfile's `worker`); production runs a worker deployment per queue (`-Q ingest`, ...).
`celery`, Celery's default queue, receives nothing of the product's (tests/test_queues.py checks
that every task has a route); the cases workers drain it too, for messages queued before an
upgrade to these routes."""

from kombu import Queue

KINDS = {
    "ingest": "webhook deliveries into responses, alerts and cases; the re-drive; customers' e-mail replies (IMAP)",
    "cases": "the SLA sweep, the verification sweep and the account rules' sweep",
    "notifications": "alert e-mails, the notification outbox (e-mail, chat, in-app), verification requests",
    "text": "text and models: theme tagging and discovery, root-cause and churn model training",
    "reports": ("reports, exports and imports: the managers' digest, the report rollups' compaction, the journey "
                "map's moments of truth, CSV imports of customers and accounts, the outer-loop scan, partition "
                "maintenance and retention"),
}
DEFAULT = "celery"

_TASKS = {
    "ingest": ["surveys.tasks.process_delivery_task", "surveys.tasks.process_deliveries_task",
               "surveys.tasks.redrive_pending_deliveries_task", "cases.tasks.mail_poll_imap_task"],
    "cases": ["cases.tasks.sla_sweep_task", "followup.tasks.verification_sweep_task",
              "customers.tasks.account_rules_sweep_task"],
    "notifications": ["alerts.tasks.alert_email_send_task", "alerts.tasks.alert_emails_send_task",
                      "alerts.tasks.alert_emails_redrive_task", "cases.tasks.notifications_dispatch_task",
                      "cases.tasks.notification_send_task", "followup.tasks.verification_send_task",
                      "followup.tasks.recognition_notify_task"],
    "text": ["surveys.tasks.retag_responses_task", "surveys.tasks.discover_themes_task",
             "cases.tasks.retrain_root_cause_model_task", "churn.tasks.churn_retrain_task"],
    # Glob patterns (Celery's routing) too: any report or export task added later.
    # Imports are bulk work a person started and watches: never ahead of a webhook or the SLA sweep.
    "reports": ["cases.tasks.manager_digest_task", "reporting.tasks.*", "privacy.tasks.*", "imports.tasks.*",
                "improvement.tasks.*", "segments.tasks.*"],
}
ROUTES = {task: {"queue": queue} for queue, tasks in _TASKS.items() for task in tasks}
QUEUES = [Queue(name) for name in [*KINDS, DEFAULT]]
