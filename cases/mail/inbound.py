"""The one service both inbound doors call (the providers' webhooks, cases.mail.doors, and the
IMAP poller, cases.mail.imap): record an e-mail once per Message-ID and hand it to its case.

    mail_receive(raw, door=..., envelope_sender=None, envelope_recipient=None) -> Receipt

The case is found from the token of our reply address among the recipients (a token that is
present but does not verify is refused: someone made it up or changed it), else from the
Message-IDs the mail answers (In-Reply-To, References) among the e-mails we sent. A mail with
neither, or for a case that no longer exists, is recorded as refused, with the reason: a
refusal is an answer, never an error, so a provider does not retry it and the poller moves on.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from cases.mail.addresses import case_id_from_token
from cases.mail.message import Received, read
from cases.mail.models import InboundMail, OutgoingMail

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    """What became of one inbound e-mail: its row, and whether this call recorded it (False:
    the same Message-ID was recorded before, through this door or another)."""

    mail: InboundMail
    new: bool

    def as_dict(self) -> dict:
        case = self.mail.case
        return {"message_id": self.mail.message_id, "outcome": self.mail.outcome, "new": self.new,
                "case": case.reference if case is not None else None, "reason": self.mail.reason}


def _find_case(mail: Received) -> tuple[int | None, str]:
    """(case id, "") or (None, why it was refused)."""
    from cases.models import Case

    if mail.tokens:
        for token in mail.tokens:
            case_id = case_id_from_token(token)
            if case_id is not None:
                if Case.objects.filter(pk=case_id).exists():
                    return case_id, ""
                return None, "The reply address names a case that no longer exists."
        return None, "The reply address's token is not valid (made up or altered)."
    if mail.thread_ids:
        found = (OutgoingMail.objects.filter(message_id__in=mail.thread_ids)
                 .order_by("-created_at").values_list("case_id", flat=True).first())
        if found is not None:
            return found, ""
    return None, "Not sent to a case's reply address, and it answers no e-mail we sent."


def mail_receive(raw: bytes, *, door: str, envelope_sender: str | None = None,
                 envelope_recipient: str | None = None) -> Receipt:
    """Record one inbound e-mail (its RFC 822 bytes) once, on its case. Safe to call twice, or
    through two doors at once: the Message-ID is unique, the second call returns the first's row."""
    try:
        mail = read(raw, envelope_sender=envelope_sender, envelope_recipient=envelope_recipient)
    except Exception as exc:  # noqa: BLE001 - a sender's bytes: refused and recorded, never an error
        logger.warning("unreadable inbound e-mail", extra={"door": door, "error": type(exc).__name__})
        mail = Received(message_id="sha256:" + hashlib.sha256(raw).hexdigest(), kind="refused",
                        why=f"Unreadable message ({type(exc).__name__}).", from_address="", subject="", text="")
    existing = InboundMail.objects.filter(message_id=mail.message_id).select_related("case").first()
    if existing is not None:
        return Receipt(existing, False)
    case_id, refusal = _find_case(mail) if mail.kind != "refused" else (None, mail.why)
    row = InboundMail(
        message_id=mail.message_id, door=door, case_id=case_id,
        outcome=InboundMail.Outcome.REFUSED if case_id is None else mail.kind,
        reason=(refusal or mail.why)[:255], from_address=mail.from_address, subject=mail.subject,
        text=mail.text, attachments=mail.attachment_list(),
        data={"thread_ids": list(mail.thread_ids[:5]), "bounce": mail.bounce} if mail.bounce else
        {"thread_ids": list(mail.thread_ids[:5])},
    )
    try:
        with transaction.atomic():
            row.save()
            if case_id is not None:
                _on_case(row, mail)
    except IntegrityError:
        # The same Message-ID committed a moment ago by the other door: that one counts.
        existing = InboundMail.objects.filter(message_id=mail.message_id).select_related("case").first()
        if existing is None:
            raise
        return Receipt(existing, False)
    if row.outcome == InboundMail.Outcome.REFUSED:
        logger.info("inbound e-mail refused", extra={"door": door, "reason": row.reason})
    return Receipt(row, True)


def _on_case(row: InboundMail, mail: Received) -> None:
    from cases.services import case_mail_received

    landed = case_mail_received(case_id=row.case_id, mail=mail, inbound_id=row.pk)
    if landed.pk != row.case_id:  # a reply to a closed case opened a follow-up
        row.data = {**row.data, "follow_up_of": row.case_id}
        row.case = landed
        row.save(update_fields=["case", "data"])
