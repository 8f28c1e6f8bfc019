"""Closeloop settings. Every value comes from an environment variable (see the README's
configuration table); the defaults are the embedded single-machine setup of `make run`."""

from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config import queues
from config.env import env, envbool, envint, envlist
from core.redis_sentinel import broker_url, parse_sentinels

from config.settings.basics import BASE_DIR, SITE_URL, TESTING, VAR_DIR  # noqa: F401 (settings)

DEBUG = envbool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if TESTING:
        SECRET_KEY = "test-suite-only-key-" + "0123456789abcdef" * 3
    elif DEBUG:
        # `make run` and DEBUG=1 manage.py: a random key made once under var/ (never one from the repository).
        from config.runenv import secret_key

        SECRET_KEY = secret_key(VAR_DIR)
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see README: Configuration).")

# Secrets at rest (core.crypto): the first key encrypts, every key decrypts (rotation: new,old).
CLOSELOOP_ENCRYPTION_KEYS = envlist("CLOSELOOP_ENCRYPTION_KEYS")
if not CLOSELOOP_ENCRYPTION_KEYS and TESTING:
    CLOSELOOP_ENCRYPTION_KEYS = ["dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS0wMTIzNDU="]  # the test suite's, public
elif not CLOSELOOP_ENCRYPTION_KEYS and DEBUG and (VAR_DIR / "encryption.key").exists():
    CLOSELOOP_ENCRYPTION_KEYS = [(VAR_DIR / "encryption.key").read_text().strip()]  # `make run`'s, made on first start

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_htmx",
    "csp",
    "axes",
    "auditlog",
    # Two-factor sign-in (accounts.two_factor): django-otp's TOTP devices and backup codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "anymail",  # inbound e-mail webhooks (cases/mail, docs/email.md)
    # The flow, lowest layer first: each app imports only the ones above it in this list.
    "accounts",
    "audit",
    "imports",  # CSV imports and bulk upserts (docs/imports.md): importers registered by the apps above
    "surveys",
    "segments",  # named customer segments (segments/, docs/customers.md): rules, routing, inbox, reports
    "alerts",
    "cases",
    "contactpolicy",
    "followup",
    "customers",
    "journeys",
    "outcomes",
    "churn",  # churn risk per customer and account (docs/churn-risk.md)
    "reporting",
    "improvement",
    "privacy",
    "organisation",
    "demo",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "core.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language from the browser's Accept-Language (docs/languages.md); a person's own choice
    # (their profile) overrides it in accounts.middleware, which also activates their time zone.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.PreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # An empty 405 (require_POST on an address opened in the browser) gets a sentence saying what to do.
    "core.middleware.MethodNotAllowedMessageMiddleware",
    # The audit trail's actor and origin (address, user agent, request id, door) for this request.
    "audit.middleware.AuditOriginMiddleware",
    # After a write, the writer's next reports come from the primary (core.replica; no-op without a replica).
    "core.replica.WriteMarkerMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Two-factor sign-in: django-otp marks a session that passed a code, then the gate sends a
    # session that still owes its second factor to the code step (accounts.two_factor.middleware).
    "django_otp.middleware.OTPMiddleware",
    "accounts.two_factor.middleware.TwoFactorMiddleware",
    # Last, as django-axes asks: turns a lockout raised during authentication into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
                "cases.context_processors.notification_bell",
                # The CSRF token masked once per request (in place of the built-in processor's).
                "core.csrf.context",
            ],
            # {% translate %} and the date/time filters of core.l10n in every template, unloaded.
            "builtins": ["django.templatetags.i18n", "core.l10n"],
        },
    },
    # Jinja2 renders only what Django's engine made the slowest part of the hot pages: the inbox's
    # content and rows, the case page's action panel and timeline (jinja2/cases/, about five times faster; see
    # docs/architecture.md). Everything else is Django templates under templates/.
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "NAME": "jinja2",
        "DIRS": [BASE_DIR / "jinja2"],
        "APP_DIRS": False,
        # jinja2.ext.i18n with Django's translations installed (core.l10n.jinja2_environment).
        # csrf_token / csrf_input: the request's one masked token (core.csrf), in place of the
        # backend's lazies that masked it anew at each use.
        "OPTIONS": {"autoescape": True, "environment": "core.l10n.jinja2_environment",
                    "context_processors": ["core.csrf.context"]},
    },
]

# --- Database: the primary, and a streaming replica for reports (config/settings/database.py) --
from config.settings.database import *  # noqa: E402,F403
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker, cache (rate limits, login throttling, rule cache version) -------------
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
# Redis Sentinel (docs/deployment.md "Redis Sentinel"): with REDIS_SENTINELS ("host:port,...")
# the broker and the cache ask the sentinels which server is the master of REDIS_SENTINEL_MASTER,
# and follow a failover. REDIS_URL then gives only the password and the database number.
REDIS_SENTINELS = parse_sentinels(envlist("REDIS_SENTINELS"))
REDIS_SENTINEL_MASTER = env("REDIS_SENTINEL_MASTER", "mymaster")
REDIS_SENTINEL_PASSWORD = env("REDIS_SENTINEL_PASSWORD")
CACHES = {
    "default": {
        # Django's Redis backend, one client object per pool (core/redis_cache.py: CPU per page).
        "BACKEND": "core.redis_cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", "closeloop"),
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}
if REDIS_SENTINELS:
    CACHES["default"]["OPTIONS"].update({
        "pool_class": "core.redis_sentinel.SentinelPool", "sentinels": REDIS_SENTINELS,
        "service_name": REDIS_SENTINEL_MASTER, "sentinel_password": REDIS_SENTINEL_PASSWORD,
    })

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Password hashing is deliberately slow; the suite creates hundreds of users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Languages (docs/languages.md): the product ships complete in these four; locale/ holds the
# catalogues (.po, and the compiled .mo committed beside them, so no GNU gettext is needed to run).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español"), ("fr", "Français"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Date and time formats per language (SHORT_DATETIME_FORMAT etc.), read by core.l10n's filters.
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# collectstatic writes here (the image: at build time, with the production settings it runs with,
# so that WhiteNoise's manifest of hashed names exists; a missing manifest is a 500 on every page).
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- Security (production values switch on when DEBUG is off) --------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Django's database sessions, the row read by a statement compiled once per process (accounts/sessions.py).
SESSION_ENGINE = "accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG and not TESTING)
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", not DEBUG and not TESTING)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG or TESTING else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", SECURE_HSTS_SECONDS > 0)
# Outbound requests to addresses a person configured (core.outbound): https only in production.
# The allow-list lets the test suite reach its loopback servers; it is never read from the environment.
OUTBOUND_HTTPS_ONLY = not DEBUG and not TESTING
OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"] if TESTING else []
# Behind a TLS-terminating proxy (docs/deployment.md): the proxy must SET (not append to)
# X-Forwarded-Proto; with BEHIND_TLS_PROXY on, Django trusts it to tell https from http.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("BEHIND_TLS_PROXY", False) else None
# Webhooks are never redirected (senders do not follow a redirect with their POST): over plain
# HTTP they get a 403 that says to use https:// (surveys.ingest.checks.check).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$", r"^webhooks/"]
CSRF_COOKIE_HTTPONLY = False  # HTMX reads the token from the page (hx-headers), not the cookie
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "django.views.csrf.csrf_failure"
# Content-Security-Policy (django-csp 4): scripts only from our own static files (HTMX and
# closeloop.js; no inline <script>, no eval). Inline style attributes stay allowed: templates
# and HTMX's indicator styles use them, and styles cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Debug pages (DEBUG only) hide settings whose names say they hold a secret: Django's list plus
# connection URLs (DATABASE_URL, REDIS_URL, the broker's and the cache's LOCATION carry passwords).
DEFAULT_EXCEPTION_REPORTER_FILTER = "core.debug.SafeSettingsFilter"

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an integrator with a bad or missing token gets 401 + WWW-Authenticate.
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.DefaultPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Closeloop API",
    "DESCRIPTION": "Closed-loop customer-feedback case management. Token auth: `Authorization: Token <key>`, a key made on the API tokens page (/account/api-tokens/) or with /api/v1/tokens/.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # drf-spectacular's own enum hook, then OpenAPI links from each create, list and read to the
    # item's operations (core/openapi_links.py), which the stateful fuzzing walks.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.openapi_links.add_links"],
    # Swagger UI is vendored (npm's swagger-ui-dist 5.35, static/vendor/swagger-ui): the docs work
    # offline and under the site's strict Content-Security-Policy.
    "SWAGGER_UI_DIST": "/" + STATIC_URL + "vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": "/" + STATIC_URL + "vendor/swagger-ui/favicon-32x32.png",
    # Case priority is one choice set, whether an alert rule asks for it or a case carries it.
    # Two "outcome" choice sets: a case's closure outcome and a contact attempt's.
    "ENUM_NAME_OVERRIDES": {
        "PriorityEnum": "accounts.models.Priority",
        "CaseOutcomeEnum": "cases.models.Case.Outcome",
        "ContactOutcomeEnum": "cases.models.ContactOutcome",
        "ThemeStatusEnum": "surveys.models.Theme.Status",
        "CaseStatusEnum": "cases.models.Case.Status",
        "AuditActionEnum": "audit.filtersets.ACTIONS",
        "AlertActionEnum": "alerts.models.AlertRule.Action",
        "NotificationKindEnum": "cases.models.NotificationKind",
        "OuterLoopMetricEnum": "improvement.models.OuterLoopAlert.Metric",
        "MetricEnum": "surveys.models.Metric",
        "OuterLoopKindEnum": "improvement.models.OuterLoopAlert.Kind",
        "ActionPlanStatusEnum": "improvement.models.ActionPlan.Status",
        "OutcomeKindEnum": "outcomes.models.OutcomeEvent.Kind",
        "ImportJobStatusEnum": "imports.models.ImportJob.Status",
        "StageMappingKindEnum": "journeys.models.StageMapping.Kind",
        # A bulk endpoint's per-item result (imports, outcomes).
        "UpsertItemStatusEnum": ["created", "updated", "unchanged", "error"],
    },
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
if REDIS_SENTINELS and not env("CELERY_BROKER_URL"):
    CELERY_BROKER_URL = broker_url(REDIS_URL, REDIS_SENTINELS)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A task is acknowledged only after it ran, and a worker killed mid-task hands it back:
# together with idempotent tasks this is what "nothing is lost" rests on.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection around every task unless this is set,
# which made each task pay for a new PostgreSQL session. Reuse it: before each task the worker
# closes a connection that broke or outlived CONN_MAX_AGE, as Django does around a request, and
# CONN_HEALTH_CHECKS replaces one that broke while idle (core.celery_connections).
CELERY_DB_REUSE_MAX = envint("CELERY_DB_REUSE_MAX", 1000)
# Workers log through settings.LOGGING (JSON, request id, redaction) instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis re-delivers an unacknowledged task after this many seconds. No task is scheduled
    # further ahead than this (SLA timing lives in due times and the periodic sweep).
    "visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 3600),
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    # Publishing gives up at once when Redis is down (kombu would otherwise retry for ~6 s
    # inside the webhook request): the delivery is already in PostgreSQL and the re-drive
    # enqueues it later. Workers reconnect on their own (broker_connection_retry).
    "max_retries": 0,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
if REDIS_SENTINELS:
    CELERY_BROKER_TRANSPORT_OPTIONS["master_name"] = REDIS_SENTINEL_MASTER
    if REDIS_SENTINEL_PASSWORD:
        CELERY_BROKER_TRANSPORT_OPTIONS["sentinel_kwargs"] = {"password": REDIS_SENTINEL_PASSWORD}
# Queues per kind of work (ingest, cases, notifications, text, reports) and each task's: config/queues.py.
CLOSELOOP_QUEUES = queues.KINDS
CELERY_TASK_DEFAULT_QUEUE = queues.DEFAULT
CELERY_TASK_QUEUES = queues.QUEUES
CELERY_TASK_ROUTES = queues.ROUTES
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", 120)
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 180)
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", TESTING)
CELERY_TASK_EAGER_PROPAGATES = CELERY_TASK_ALWAYS_EAGER
# Every periodic job in one place. https://crontab.guru/#*_*_*_*_*
CELERY_BEAT_SCHEDULE = {
    "surveys-redrive-pending-deliveries": {
        "task": "surveys.tasks.redrive_pending_deliveries_task",
        "schedule": envint("REDRIVE_INTERVAL_SECONDS", 30),
    },
    "cases-sla-sweep": {"task": "cases.tasks.sla_sweep_task", "schedule": crontab(minute="*")},
    "cases-manager-digest": {"task": "cases.tasks.manager_digest_task", "schedule": crontab(minute=0, hour=7)},
    "alerts-redrive-emails": {"task": "alerts.tasks.alert_emails_redrive_task", "schedule": crontab(minute="*/5")},
    "surveys-discover-themes": {"task": "surveys.tasks.discover_themes_task", "schedule": crontab(minute=30, hour=3)},
    "cases-retrain-root-cause-model": {
        "task": "cases.tasks.retrain_root_cause_model_task", "schedule": crontab(minute=0, hour=4),
    },
    "churn-retrain": {  # train, measure and score every customer: nightly, after the root-cause model
        "task": "churn.tasks.churn_retrain_task", "schedule": crontab(minute=30, hour=4),
    },
    # Account rules over every account (docs/customers.md): NPS drops and silences, hourly.
    "customers-account-rules-sweep": {"task": "customers.tasks.account_rules_sweep_task",
                                      "schedule": crontab(minute=20)},
    "followup-verification-sweep": {
        "task": "followup.tasks.verification_sweep_task", "schedule": crontab(minute="*/5"),
    },
    "cases-mail-poll-imap": {"task": "cases.tasks.mail_poll_imap_task", "schedule": crontab(minute="*")},
    "improvement-outer-loop-scan": {"task": "improvement.tasks.outer_loop_scan_task",
                                    "schedule": crontab(minute=15, hour=6)},
    "imports-redrive": {"task": "imports.tasks.imports_redrive_task", "schedule": crontab(minute="*/2")},
    "reporting-rollups-compact": {"task": "reporting.tasks.rollups_compact_task", "schedule": crontab(minute="*")},
    # The journey map's stored moments of truth: the due ones computed again (reporting.selectors.moments).
    "reporting-moments-refresh": {"task": "reporting.tasks.moments_refresh_task", "schedule": crontab(minute="*/5")},
    # Monthly partitions of the history tables (core.partitions): made ahead, dropped past retention.
    "privacy-partitions-maintain": {"task": "privacy.tasks.partitions_maintain_task",
                                    "schedule": crontab(minute=45, hour=2)},
    "privacy-delivery-bodies-forget": {"task": "privacy.tasks.delivery_bodies_forget_task",
                                       "schedule": crontab(minute=55, hour=2)},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Exactly one beat sends, however many are started (core.beat): the one holding a lock in Redis,
# renewed every third of BEAT_LOCK_SECONDS; the others stand by and take over when it lapses.
CELERY_BEAT_SCHEDULER = "core.beat:SingleBeatScheduler"
BEAT_LOCK_SECONDS = envint("BEAT_LOCK_SECONDS", 30)

# --- Closeloop ------------------------------------------------------------------------------
WEBHOOK_MAX_BODY_BYTES = envint("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024)
# How often a process checks the shared rules version in Redis (alerts.selectors); between
# checks cached alert rules cost no I/O at all. 0 checks on every response (the test setting).
ALERT_RULES_CHECK_SECONDS = envint("ALERT_RULES_CHECK_SECONDS", 0 if TESTING else 2)
# Same for the compiled themes (surveys.text): a changed theme tags comments everywhere within this.
THEMES_CHECK_SECONDS = envint("THEMES_CHECK_SECONDS", ALERT_RULES_CHECK_SECONDS)
# Same for webhook sources (surveys.selectors): a deactivated source stops accepting within
# this interval everywhere; a rotated secret is picked up on the first failed signature.
WEBHOOK_SOURCE_CHECK_SECONDS = envint("WEBHOOK_SOURCE_CHECK_SECONDS", 0 if TESTING else 2)
# A worker fills each batch it processes up to this many deliveries with other pending ones
# (oldest first), so a backlog of small messages is still worked in full batches.
WEBHOOK_PROCESS_BATCH_SIZE = envint("WEBHOOK_PROCESS_BATCH_SIZE", 100)
DATA_UPLOAD_MAX_MEMORY_SIZE = WEBHOOK_MAX_BODY_BYTES + 64 * 1024
WEBHOOK_REDRIVE_AFTER_SECONDS = envint("WEBHOOK_REDRIVE_AFTER_SECONDS", 60)
# A delivery claimed longer ago than this belongs to a dead worker and goes back to pending.
WEBHOOK_PROCESSING_TIMEOUT_SECONDS = envint("WEBHOOK_PROCESSING_TIMEOUT_SECONDS", 300)
WEBHOOK_MAX_ATTEMPTS = envint("WEBHOOK_MAX_ATTEMPTS", 6)
WEBHOOK_RETRY_BASE_SECONDS = envint("WEBHOOK_RETRY_BASE_SECONDS", 30)
# The ingest server answers 408 to a sender whose body has not all arrived this long after its
# headers (surveys.ingest.asgi); the web process's equivalent is GUNICORN_READ_TIMEOUT.
WEBHOOK_BODY_TIMEOUT_SECONDS = envint("WEBHOOK_BODY_TIMEOUT_SECONDS", 10)
# Refused deliveries kept for the console: one per source, reason and sender per this many seconds.
WEBHOOK_REFUSAL_WINDOW_SECONDS = envint("WEBHOOK_REFUSAL_WINDOW_SECONDS", 10)
# Processed deliveries' raw bodies (the answers as the tool sent them) are forgotten after this
# many days; the row, its key and its response stay. 0 keeps them for ever.
WEBHOOK_BODY_RETENTION_DAYS = envint("WEBHOOK_BODY_RETENTION_DAYS", 0)
# Business outcomes (docs/outcomes.md): items per bulk API request; the currency the results and
# impact reports add revenue in (events in other currencies are counted, not added: no rates here).
OUTCOMES_BULK_MAX_ITEMS = envint("OUTCOMES_BULK_MAX_ITEMS", 1000)
OUTCOMES_REPORT_CURRENCY = env("OUTCOMES_REPORT_CURRENCY", "EUR").upper()
SURVEYMONKEY_API_BASE = env("SURVEYMONKEY_API_BASE", "https://api.surveymonkey.com/v3")
QUALTRICS_API_BASE = env("QUALTRICS_API_BASE", "")
# Theme discovery (surveys.services.discovery): reads this many recent comments, proposes at most this many themes.
THEME_DISCOVERY_COMMENTS = envint("THEME_DISCOVERY_COMMENTS", 5000)
THEME_DISCOVERY_MAX_PROPOSALS = envint("THEME_DISCOVERY_MAX_PROPOSALS", 8)
# Root-cause suggestion (cases.suggest): no model below this many closed cases, and no
# suggestion shown below this confidence (no suggestion rather than a wrong confident one).
ROOT_CAUSE_MIN_TRAINING_CASES = envint("ROOT_CAUSE_MIN_TRAINING_CASES", 30)
ROOT_CAUSE_MIN_CONFIDENCE = float(env("ROOT_CAUSE_MIN_CONFIDENCE", "0.15"))
# Churn risk (churn/, docs/churn-risk.md): churn within this many days of a reference date; no
# model (and no score) below this many churns in the training period or in the held-out period.
CHURN_HORIZON_DAYS = envint("CHURN_HORIZON_DAYS", 90)
CHURN_MIN_CHURNS = envint("CHURN_MIN_CHURNS", 20)
CHURN_MIN_HELD_OUT_CHURNS = envint("CHURN_MIN_HELD_OUT_CHURNS", 5)
# Verified recovery (followup): ask "Did we put it right?" this long after a case closes as
# resolved, with a link valid this many days; never ask a customer contacted in the last N days.
VERIFICATION_ENABLED = envbool("VERIFICATION_ENABLED", True)
VERIFICATION_DELAY_MINUTES = envint("VERIFICATION_DELAY_MINUTES", 60)
VERIFICATION_LINK_DAYS = envint("VERIFICATION_LINK_DAYS", 14)
VERIFICATION_FATIGUE_DAYS = envint("VERIFICATION_FATIGUE_DAYS", 30)
# Customers (docs/customers.md): the region a phone number written the national way is read in
# (ISO 3166 code, e.g. GB); empty: only numbers with their country code are put in E.164.
CUSTOMER_PHONE_REGION = env("CUSTOMER_PHONE_REGION", "").upper()
# Imports (docs/imports.md): the largest file and the most rows one import takes (refused above,
# never cut short), rows written per transaction, objects per bulk API call, and how long a
# running import may go without progress before another worker takes it over.
IMPORT_MAX_BYTES = envint("IMPORT_MAX_BYTES", 20 * 1024 * 1024)
IMPORT_MAX_ROWS = envint("IMPORT_MAX_ROWS", 100_000)
IMPORT_BATCH_SIZE = envint("IMPORT_BATCH_SIZE", 500)
IMPORT_BULK_MAX_ITEMS = envint("IMPORT_BULK_MAX_ITEMS", 1000)
IMPORT_STALE_SECONDS = envint("IMPORT_STALE_SECONDS", 300)
# The question: "scale" (0-10, 7 or more counts as put right) or "yes_no".
VERIFICATION_QUESTION = env("VERIFICATION_QUESTION", "scale")
# Answers accepted on the public page, per client address and per link (django-ratelimit rates).
VERIFICATION_RATE_PER_IP = env("VERIFICATION_RATE_PER_IP", "30/m")
VERIFICATION_RATE_PER_TOKEN = env("VERIFICATION_RATE_PER_TOKEN", "10/m")
DEMO_PASSWORD = env("DEMO_PASSWORD", "closeloop-demo")
METRICS_TOKEN = env("METRICS_TOKEN")
# /readyz fails (503) when the oldest unfinished delivery is older than this: the re-drive
# is not keeping up. Default: five re-drive intervals after the re-drive threshold.
READYZ_MAX_PENDING_AGE_SECONDS = envint(
    "READYZ_MAX_PENDING_AGE_SECONDS", WEBHOOK_REDRIVE_AFTER_SECONDS + 5 * envint("REDRIVE_INTERVAL_SECONDS", 30)
)

# The sections below live in modules of their own (config/settings/); the values they share with this
# module come from config/settings/basics.py.
from config.settings.mail import *  # noqa: E402,F403
from config.settings.identity import *  # noqa: E402,F403
from config.settings.audit import *  # noqa: E402,F403
from config.settings.logs import *  # noqa: E402,F403
