"""Reading one inbound e-mail (its RFC 822 bytes, whichever door it came through) into what the
case needs. Pure: no database, no settings but the reply address.

    read(raw, envelope_sender=None, envelope_recipient=None) -> Received

What it decides:
- the Message-ID (the idempotency key; "sha256:<hex of the bytes>" for a mail without one);
- the kind: a bounce (a DSN, multipart/report; report-type=delivery-status, or
  X-Failed-Recipients), an automatic reply (RFC 3834 Auto-Submitted other than "no",
  X-Autoreply / X-Autorespond, Precedence bulk / junk / list / auto_reply, a read receipt, or
  our own mail come back: our loop headers or our address as the sender), else a bounce when
  it comes from a mailer daemon or with a null sender (Return-Path: <>), else a reply; `why`
  says which header decided;
- the reply text without its quoted history (mail-parser-reply, with the reply-header and
  signature patterns of English, Spanish, French and German);
- the attachments, listed (name, size, type), never stored;
- the tokens of our reply addresses among the recipients, and the Message-IDs it answers
  (In-Reply-To, then References newest first).
"""

from __future__ import annotations

import email
import hashlib
import html
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import parseaddr

from django.utils.html import strip_tags
from mailparser_reply import EmailReplyParser

from cases.mail.addresses import bare_reply_address, is_ours, tokens_in

REPLY_LANGUAGES = ["en", "es", "fr", "de"]
MAX_TEXT = 20_000
MAX_ATTACHMENTS = 50
LOOP_HEADER = "X-Loop"
CASE_HEADER = "X-Closeloop-Case"
AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
DAEMONS = {"mailer-daemon", "postmaster"}
MSGID = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True)
class Received:
    message_id: str
    kind: str  # "reply", "bounce", "auto_reply" (or "refused": unreadable), InboundMail.Outcome values
    why: str
    from_address: str
    subject: str
    text: str
    attachments: tuple = ()
    tokens: tuple = ()
    thread_ids: tuple = ()
    bounce: dict = field(default_factory=dict)

    def attachment_list(self) -> list[dict]:
        return [dict(a) for a in self.attachments]


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def message_id(msg: EmailMessage, raw: bytes) -> str:
    value = _header(msg, "Message-ID")
    found = MSGID.search(value)
    value = found.group(1) if found else value.strip("<> ")
    if not value:
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    if len(value) > 255:
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    return value


def thread_ids(msg: EmailMessage) -> tuple[str, ...]:
    """The Message-IDs this mail answers: In-Reply-To first, then References, newest first."""
    ids: list[str] = []
    for header in ("In-Reply-To", "References"):
        values = MSGID.findall(_header(msg, header))
        for value in (values if header == "In-Reply-To" else reversed(values)):
            if value not in ids:
                ids.append(value)
    return tuple(ids[:50])


def _header(msg: EmailMessage, name: str) -> str:
    try:
        return str(msg.get(name) or "").strip()
    except Exception:  # noqa: BLE001 - a header too broken to decode reads as absent
        return ""


def classify(msg: EmailMessage, envelope_sender: str | None) -> tuple[str, str]:
    """("bounce" | "auto_reply" | "reply", the header that decided)."""
    content_type = msg.get_content_type()
    report = (msg.get_param("report-type") or "").lower() if content_type == "multipart/report" else ""
    if report == "delivery-status":
        return "bounce", "multipart/report; report-type=delivery-status"
    if _header(msg, "X-Failed-Recipients"):
        return "bounce", "X-Failed-Recipients"
    if report == "disposition-notification":
        return "auto_reply", "read receipt (multipart/report; report-type=disposition-notification)"
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and not auto.startswith("no"):
        return "auto_reply", f"Auto-Submitted: {auto[:60]}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if _header(msg, name):
            return "auto_reply", name
    precedence = _header(msg, "Precedence").lower()
    if precedence in AUTO_PRECEDENCE:
        return "auto_reply", f"Precedence: {precedence}"
    if _header(msg, CASE_HEADER) or bare_reply_address() in _header(msg, LOOP_HEADER).lower():
        return "auto_reply", "mail loop: our own e-mail came back"
    sender = parseaddr(_header(msg, "From"))[1]
    if is_ours(sender):
        return "auto_reply", "mail loop: sent from our reply address"
    local = sender.lower().rpartition("@")[0]
    if local in DAEMONS:
        return "bounce", f"From: {local}"
    if envelope_sender is not None:
        null = envelope_sender.strip() in ("", "<>")
    else:
        null = "Return-Path" in msg and _header(msg, "Return-Path").strip() in ("", "<>")
    if null:  # a delivery report that is no DSN (an automatic reply was recognised above)
        return "bounce", "null sender (Return-Path: <>)"
    return "reply", ""


def _text(msg: EmailMessage) -> str:
    try:
        body = msg.get_body(preferencelist=("plain", "html"))
        content = body.get_content() if body is not None else ""
    except Exception:  # noqa: BLE001 - an undecodable body: nothing to show, the mail is still recorded
        return ""
    if not isinstance(content, str):
        return ""
    if body.get_content_type() == "text/html":
        content = html.unescape(strip_tags(re.sub(r"(?i)<br\s*/?>|</p>", "\n", content)))
    return content.replace("\r\n", "\n").replace("\x00", "")


def strip_quoted(text: str) -> str:
    """The newest reply without the quoted history below it ("On ... wrote:" and its
    translations, "> " lines, Outlook's "From: ... Sent: ..." block, signatures), by
    mail-parser-reply; then, if a block of "> " lines is still left at the bottom, that block and
    the attribution line above it ending in ":" (mail-parser-reply 1.36 misses Gmail's Spanish
    "El ... escribió:"). Quoted lines with the customer's answers between them stay."""
    if not text.strip():
        return ""
    try:
        reply = EmailReplyParser(languages=list(REPLY_LANGUAGES)).parse_reply(text)
    except Exception:  # noqa: BLE001 - the parser's regexes on odd input: keep the whole text
        reply = None
    return _cut_bottom_quote((reply or text).strip())[:MAX_TEXT]


def _cut_bottom_quote(text: str) -> str:
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.lstrip().startswith(">")), None)
    if first is None or any(line.strip() and not line.lstrip().startswith(">") for line in lines[first:]):
        return text  # no quote, or the customer answered between quoted lines
    cut = first
    above = first - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above >= 0 and lines[above].rstrip().endswith(":"):
        cut = above
    head = "\n".join(lines[:cut]).strip()
    return head or text


def attachments(msg: EmailMessage) -> tuple:
    listed = []
    for part in msg.walk():
        if part.is_multipart() or part is msg:
            continue
        try:
            disposition, filename = part.get_content_disposition(), part.get_filename()
        except Exception:  # noqa: BLE001 - a header too broken to read: listed without a name
            disposition, filename = "attachment", None
        if disposition != "attachment" and not (disposition == "inline" and filename):
            continue
        try:
            size = len(part.get_payload(decode=True) or b"")
        except Exception:  # noqa: BLE001
            size = 0
        listed.append((("name", (filename or "unnamed")[:200]), ("size", size), ("type", part.get_content_type())))
        if len(listed) >= MAX_ATTACHMENTS:
            break
    return tuple(listed)


def bounce_details(msg: EmailMessage) -> dict:
    """The first recipient block of a DSN (message/delivery-status): who, what, why."""
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        for block in blocks if isinstance(blocks, list) else []:
            recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
            if recipient:
                return {"recipient": recipient.partition(";")[2].strip()[:320] or recipient[:320],
                        "action": str(block.get("Action") or "")[:40], "status": str(block.get("Status") or "")[:20],
                        "diagnostic": " ".join(str(block.get("Diagnostic-Code") or "").split())[:500]}
    failed = _header(msg, "X-Failed-Recipients")
    return {"recipient": failed[:320]} if failed else {}


def read(raw: bytes, *, envelope_sender: str | None = None, envelope_recipient: str | None = None) -> Received:
    msg = parse(raw)
    kind, why = classify(msg, envelope_sender)
    recipients = [envelope_recipient or ""] + [
        _header(msg, name) for name in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")]
    text = _text(msg)
    if kind == "reply":
        text = strip_quoted(text)
    else:
        text = text.strip()[:2000]
    return Received(
        message_id=message_id(msg, raw), kind=kind, why=why,
        from_address=parseaddr(_header(msg, "From"))[1][:320], subject=_header(msg, "Subject")[:255],
        text=text, attachments=attachments(msg), tokens=tuple(tokens_in(recipients)),
        thread_ids=thread_ids(msg), bounce=bounce_details(msg) if kind == "bounce" else {},
    )
