"""The headers of what the product sends, and the mail-loop guard.

A customer e-mail from a case (cases.services.case_email_customer, sent by cases.notifications):
- From: the team's address (Team.mail_from, else DEFAULT_FROM_EMAIL);
- Reply-To and the envelope sender (Return-Path): the case's reply address, so replies and
  bounces both come back to the case;
- Message-ID: made when the e-mail is queued, kept on the timeline event and in OutgoingMail, so
  a reply threads by In-Reply-To / References too; In-Reply-To / References name the
  customer's last reply, so their mail program threads our answer;
- X-Closeloop-Case and X-Loop: our loop headers (a mail carrying them that comes back is ours).

Automatic mails (notifications to staff) carry Auto-Submitted (RFC 3834: auto-generated, or
auto-replied for the one an inbound mail causes), X-Auto-Response-Suppress (Exchange's
out-of-office replies) and X-Loop. The product never sends a customer anything automatic in
answer to their mail, and the notification an inbound mail causes is rate-limited per
recipient (MAIL_AUTOMATIC_PER_HOUR): the two ways a loop could keep going are closed.
"""

from __future__ import annotations

import hashlib
import logging
from email.utils import make_msgid

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from cases.mail.addresses import bare_reply_address, reply_domain, team_sender
from cases.mail.message import CASE_HEADER, LOOP_HEADER

logger = logging.getLogger(__name__)


def new_message_id() -> str:
    """A fresh Message-ID at the reply domain, without angle brackets (as stored)."""
    return make_msgid(domain=reply_domain()).strip("<>")


def customer_headers(*, case, message_id: str, answers: list[str] | None = None) -> dict[str, str]:
    headers = {
        "From": team_sender(case.team),
        "Message-ID": f"<{message_id}>",
        CASE_HEADER: case.reference,
        LOOP_HEADER: bare_reply_address(),
    }
    if answers:
        headers["In-Reply-To"] = f"<{answers[0]}>"
        headers["References"] = " ".join(f"<{m}>" for m in reversed(answers[:10]))
    return headers


def automatic_headers(*, in_reply: bool = False) -> dict[str, str]:
    return {
        "Auto-Submitted": "auto-replied" if in_reply else "auto-generated",
        "X-Auto-Response-Suppress": "All",
        LOOP_HEADER: bare_reply_address(),
    }


def allow_automatic(address: str) -> bool:
    """Count one automatic mail to `address` in this hour; False once the hour's allowance
    (MAIL_AUTOMATIC_PER_HOUR) is spent. Redis down: allowed (the outbox's uniqueness still
    keeps one row per mail)."""
    limit = settings.MAIL_AUTOMATIC_PER_HOUR
    if limit <= 0:
        return True
    digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()[:24]
    key = f"mail:auto:{digest}:{timezone.now():%Y%m%d%H}"
    try:
        cache.add(key, 0, timeout=3600)
        count = cache.incr(key)
    except Exception:  # noqa: BLE001 - no counter without Redis: do not hold mail back for it
        logger.warning("automatic-mail counter unavailable", exc_info=True)
        return True
    return count <= limit
