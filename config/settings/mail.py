"""E-mail settings: sending, and two-way e-mail from the case (cases/mail/, docs/email.md)."""

from config.env import env, envbool, envint
from config.settings.basics import VAR_DIR

# --- E-mail -------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# With DEBUG off the console default is refused (core.checks, closeloop.E001): e-mails would land
# in the logs. Naming it in EMAIL_BACKEND is the explicit choice that lets it through.
EMAIL_BACKEND_CHOSEN = bool(env("EMAIL_BACKEND"))
# `make run` sets the file backend: one file per e-mail sent, under var/mail/ (named in its banner).
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Closeloop <closeloop@localhost>")

# --- Two-way e-mail from the case (cases/mail/, docs/email.md) -------------------------------
# Replies come back to MAIL_REPLY_ADDRESS with a signed token after a "+" (replies+<token>@domain);
# its domain must deliver to one of the inbound doors below. Default: replies@ the sender's domain.
MAIL_REPLY_ADDRESS = env("MAIL_REPLY_ADDRESS", "replies@" + DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >"))
# Automatic mails (no person wrote them) to one address per hour, at most: the mail-loop guard.
MAIL_AUTOMATIC_PER_HOUR = envint("MAIL_AUTOMATIC_PER_HOUR", 20)
# Inbound bodies up to this size (JSON doors read the body themselves; files are not held in memory).
MAIL_INBOUND_MAX_BYTES = envint("MAIL_INBOUND_MAX_BYTES", 25 * 1024 * 1024)
# django-anymail's inbound webhooks: a door opens only when its secret is set (else 404).
# Mailgun signs each post (HMAC-SHA256 with the webhook signing key); Postmark authenticates with
# the basic-auth credentials you put in the inbound URL (ANYMAIL_WEBHOOK_SECRET, "user:password").
ANYMAIL = {}
if env("MAILGUN_WEBHOOK_SIGNING_KEY"):
    ANYMAIL["MAILGUN_WEBHOOK_SIGNING_KEY"] = env("MAILGUN_WEBHOOK_SIGNING_KEY")
if env("ANYMAIL_WEBHOOK_SECRET"):
    ANYMAIL["WEBHOOK_SECRET"] = env("ANYMAIL_WEBHOOK_SECRET")
# The IMAP poller (self-hosters): polled every minute by the beat when MAIL_IMAP_HOST is set.
MAIL_IMAP_HOST = env("MAIL_IMAP_HOST")
MAIL_IMAP_PORT = envint("MAIL_IMAP_PORT", 993)
MAIL_IMAP_SECURITY = env("MAIL_IMAP_SECURITY", "ssl")  # ssl, starttls or none (loopback tests only)
MAIL_IMAP_USER = env("MAIL_IMAP_USER")
MAIL_IMAP_PASSWORD = env("MAIL_IMAP_PASSWORD")
MAIL_IMAP_FOLDER = env("MAIL_IMAP_FOLDER", "INBOX")
MAIL_IMAP_BATCH = envint("MAIL_IMAP_BATCH", 50)

