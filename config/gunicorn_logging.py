"""gunicorn's logger with the log redaction of the rest of the product (core.logging.redact_text):
access lines (gunicorn's own, and uvicorn's, which the ingest server's UvicornWorker writes through
the same handlers) and error lines lose query strings, link tokens, e-mails and credentials
whatever the access log format says. config/gunicorn.py names it (logger_class), so production
and `make run` (which starts gunicorn with that file) log the same way."""

from __future__ import annotations

import logging

from gunicorn.glogging import Logger

from core.logging import REDACTED, redact_text


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format must not lose the line
            message = str(record.msg)
        record.msg, record.args = redact_text(message), None
        return True


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            for handler in log.handlers:
                if not any(isinstance(f, _Redact) for f in handler.filters):
                    handler.addFilter(_Redact())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        if atoms.get("q"):  # %(q)s: the bare query string, with no URL around it for redact_text to see
            atoms["q"] = REDACTED
        return atoms
