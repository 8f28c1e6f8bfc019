"""The audit trail's settings (audit/, django-auditlog; docs/security.md "Audit trail")."""

from config.env import envint

# --- Audit trail (audit/, django-auditlog; docs/security.md "Audit trail") --------------------
# Entries live in audit.AuditEntry (append-only); django-auditlog's own table is not created.
AUDITLOG_LOGENTRY_MODEL = "audit.AuditEntry"
MIGRATION_MODULES = {"auditlog": None}
AUDITLOG_STORE_JSON_CHANGES = True  # {field: [old, new]} with JSON values (true, 4, null), not their str()
AUDITLOG_CID_GETTER = "audit.context.request_id"  # the entry's `cid` is core.middleware's request id
_AUDIT_SECRET = "audit.masking.mask_secret"  # a secret is recorded as set/changed, never its value
# What is recorded on every create, update and delete, whichever door (pages, API, Django admin,
# management commands, tasks). A field left out changes by itself (a sign-in's last_login, a
# token's last use, round-robin position, a rule's updated_at).
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    {"model": "accounts.user", "exclude_fields": ["last_login"], "mask_fields": ["password"],
     "mask_callable": _AUDIT_SECRET},
    {"model": "accounts.team", "exclude_fields": ["last_assigned"],
     "mask_fields": ["slack_webhook_url", "msteams_webhook_url"], "mask_callable": _AUDIT_SECRET},
    "accounts.membership",
    "accounts.closedday",
    "accounts.slapolicy",
    {"model": "accounts.apitoken", "exclude_fields": ["last_used_at"], "mask_fields": ["digest"],
     "mask_callable": _AUDIT_SECRET},
    {"model": "surveys.webhooksource", "mask_fields": ["secret", "previous_secret", "auth"],
     "mask_callable": _AUDIT_SECRET},
    {"model": "segments.segment", "exclude_fields": ["updated_at"]},
    {"model": "customers.accountrule", "exclude_fields": ["updated_at"]},
    {"model": "alerts.alertrule", "exclude_fields": ["updated_at"],
     "m2m_fields": ["surveys", "themes", "notify_users", "segments"]},
    {"model": "cases.routingrule", "m2m_fields": ["surveys", "segments"]},
    "cases.rootcausecategory",
    "cases.rootcause",
    "cases.emailtemplate",
    {"model": "cases.playbook", "exclude_fields": ["updated_at"]},
    # Journeys (journeys/): the stages, their order and what maps to each.
    "journeys.journey",
    "journeys.stage",
    "journeys.stagemapping",
    # Sign-in security: the per-role two-factor policy, authenticator apps set up or removed (their
    # key masked; the step counter and throttling that move at every sign-in left out), SSO links.
    "accounts.twofactorpolicy",
    {"model": "otp_totp.totpdevice", "mask_fields": ["key"], "mask_callable": _AUDIT_SECRET,
     "exclude_fields": ["last_t", "last_used_at", "throttling_failure_timestamp", "throttling_failure_count"]},
    {"model": "accounts.ssoidentity", "exclude_fields": ["last_sign_in_at"]},
    {"model": "contactpolicy.contactpolicy", "exclude_fields": ["updated_at", "updated_by"]},
)
# Models that audit.services events name besides those (sign-ins: users; privacy: customers; imports).
AUDIT_EVENT_MODELS = ["accounts.user", "surveys.customer", "imports.importjob"]
# The CSV export refuses (400, narrow the filters) above this many entries rather than cut the file.
AUDIT_EXPORT_MAX_ROWS = envint("AUDIT_EXPORT_MAX_ROWS", 50000)

