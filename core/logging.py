"""Log context and redaction, applied by the stdout handler to every record (settings.LOGGING).

- `ContextFilter` adds `request_id` (the web request's X-Request-ID, carried into the Celery
  tasks it enqueues) and `task_id` to every line, so one grep follows a delivery from the
  webhook to the case it opened.
- `RedactingFilter` masks secrets and personal data: values of sensitive `extra=` fields
  (password, secret, token, authorization, email, phone, body...), e-mail addresses anywhere in
  the message, `Token`/`Bearer` credentials in text, URL query strings and the tokens in link
  paths (/r/<token>/, password reset and invitation links). gunicorn's access log (and uvicorn's,
  which shares its handlers) goes through the same `redact_text` (config/gunicorn_logging.py).

Convention for the other apps: log events with a short constant message and the identifiers as
`extra=` fields, never interpolated personal data:

    logger.info("delivery processed", extra={"delivery_id": d.pk, "source": d.source.slug})
    logger.info("case opened", extra={"case": case.reference, "team": case.team_id})

Identifiers (delivery_id, response_id, case reference, customer_id) are fine; names, e-mails,
phone numbers, comments, raw bodies and secrets are not.
"""

from __future__ import annotations

import contextvars
import logging
import re

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
task_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)

REDACTED = "[redacted]"
SENSITIVE_KEYS = re.compile(
    r"pass(word|wd)?|secret|token|authorization|api[_-]?key|signature|cookie|session|e-?mail|phone|body|comment",
    re.IGNORECASE,
)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
CREDENTIAL = re.compile(r"\b(Token|Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}", re.IGNORECASE)
PHONE = re.compile(r"(?<![\w+])\+\d[\d ().-]{6,}\d")
# A URL's query string (searches carry names, a Qualtrics publication URL its token) and the
# secret segments of link paths: the recovery check /r/<token>/, password reset and invitation
# /<uidb64>/<token>/. Used for every log line, the access logs of gunicorn and uvicorn included.
QUERY = re.compile(r"(/[^\s?\"'<>]*)\?[^\s\"'<>]+")
LINK_TOKENS = re.compile(r"(/r/|/(?:password-reset|invitation)/[^/\s?\"']+/)(?!set-password/)[^/\s?\"']+")

# Attributes every LogRecord has; anything else came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id", "task_id"}


def redact_url(text: str) -> str:
    """Query strings and link tokens out of any text that may hold a URL or a request line."""
    text = QUERY.sub(lambda m: f"{m.group(1)}?{REDACTED}", text)
    return LINK_TOKENS.sub(lambda m: m.group(1) + REDACTED, text)


def redact_text(text: str) -> str:
    text = redact_url(text)
    text = EMAIL.sub("[email]", text)
    text = CREDENTIAL.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return PHONE.sub("[phone]", text)


def _redact_value(value):
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: (REDACTED if SENSITIVE_KEYS.search(str(k)) else _redact_value(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(v) for v in value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    # Anything else (Django's `request` on django.request lines, whose repr holds the URL) is
    # written as its text by the formatter: redact that text.
    return redact_text(str(value))


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        task_id = task_id_var.get()
        if task_id:
            record.task_id = task_id
        return True


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Render the message once, then scrub it: args may carry an e-mail or a header dict.
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the line
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        for key, value in list(vars(record).items()):
            if key in _STANDARD or key.startswith("_"):
                continue
            setattr(record, key, REDACTED if SENSITIVE_KEYS.search(key) else _redact_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            # Formatters print exc_text when exc_info is gone: the traceback is kept, scrubbed.
            record.exc_text = redact_text(record.exc_text)
            record.exc_info = None
        return True
