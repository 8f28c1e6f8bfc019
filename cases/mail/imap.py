"""The IMAP door, for self-hosters: poll a mailbox that receives the reply addresses
(replies+...@your-domain delivered to one mailbox), hand each unseen message to the same service
as the webhooks (cases.mail.inbound.mail_receive), then mark it seen. Through imap-tools
(a maintained IMAP client over the standard library's imaplib).

    poll(limit=None) -> PollResult | None        # None: MAIL_IMAP_HOST is not set

Run every minute by the beat (cases.tasks.mail_poll_imap_task) and by hand with
`manage.py mail_poll_imap`. A message is marked seen only after it is recorded; a failure of
ours leaves it unseen for the next poll, and the Message-ID makes a second reading land once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from imap_tools import AND, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessage, MailMessageFlags

from cases.mail.inbound import mail_receive
from cases.mail.models import InboundMail

logger = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
TIMEOUT = 30


@dataclass(frozen=True)
class PollResult:
    fetched: int
    recorded: int
    duplicates: int
    failed: int

    def as_dict(self) -> dict:
        return {"fetched": self.fetched, "recorded": self.recorded, "duplicates": self.duplicates,
                "failed": self.failed}


class RawMessage(MailMessage):
    """imap-tools' message, keeping the bytes the server sent (what mail_receive reads)."""

    def __init__(self, fetch_data: list) -> None:
        super().__init__(fetch_data)
        self.raw = self._get_message_data_parts(fetch_data)[0]


def _mailbox():
    security = settings.MAIL_IMAP_SECURITY.lower()
    host, port = settings.MAIL_IMAP_HOST, settings.MAIL_IMAP_PORT
    if security == "ssl":
        base, kwargs = MailBox, {"host": host, "port": port, "timeout": TIMEOUT}
    elif security == "starttls":
        base, kwargs = MailBoxStartTls, {"host": host, "port": port, "timeout": TIMEOUT}
    elif security == "none":
        if host not in LOOPBACK:
            raise ImproperlyConfigured("MAIL_IMAP_SECURITY=none is for a server on this machine only; "
                                       "use ssl or starttls for another host.")
        base, kwargs = MailBoxUnencrypted, {"host": host, "port": port, "timeout": TIMEOUT}
    else:
        raise ImproperlyConfigured(f"MAIL_IMAP_SECURITY must be ssl, starttls or none, got {security!r}.")
    box = type("ClosingLoopMailBox", (base,), {"email_message_class": RawMessage})(**kwargs)
    return box.login(settings.MAIL_IMAP_USER, settings.MAIL_IMAP_PASSWORD, initial_folder=settings.MAIL_IMAP_FOLDER)


def poll(limit: int | None = None) -> PollResult | None:
    if not settings.MAIL_IMAP_HOST:
        return None
    fetched = recorded = duplicates = failed = 0
    with _mailbox() as box:
        for message in box.fetch(AND(seen=False), mark_seen=False, limit=limit or settings.MAIL_IMAP_BATCH):
            fetched += 1
            try:
                receipt = mail_receive(message.raw, door=InboundMail.Door.IMAP)
            except Exception:  # noqa: BLE001 - left unseen: the next poll tries it again
                logger.exception("recording an IMAP message failed", extra={"uid": message.uid})
                failed += 1
                continue
            box.flag(message.uid, MailMessageFlags.SEEN, True)
            recorded += receipt.new
            duplicates += not receipt.new
    result = PollResult(fetched, recorded, duplicates, failed)
    if fetched:
        logger.info("imap poll", extra={"poll": result.as_dict()})
    return result
