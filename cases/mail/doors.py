"""The providers' inbound doors: django-anymail's inbound webhook views, each checking the post
the way its provider documents (Mailgun: the HMAC-SHA256 signature of timestamp and token under
the webhook signing key; Postmark: the basic-auth credentials in the inbound URL), then
normalising it to one e-mail message. A door is open only when its secret is set (else 404).

    POST /mail/inbound/mailgun/    Mailgun route "forward()" (the parsed or the raw-MIME form)
    POST /mail/inbound/postmark/   Postmark inbound webhook (JSON)

Answers: 200 with what became of each e-mail (recorded, a duplicate, refused and why); the 400
anymail gives for a bad signature or credentials; 400 for a post that is not an inbound e-mail
(wrong webhook pointed here, unparseable JSON); 413 over MAIL_INBOUND_MAX_BYTES. A failure of
our own (the database down) is a 5xx, so the provider retries: nothing is lost, and the
Message-ID makes the retry land once.
"""

from __future__ import annotations

import contextvars
import io
import logging

from anymail.exceptions import AnymailConfigurationError, AnymailError, AnymailWebhookValidationFailure
from anymail.signals import inbound
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cases.mail.inbound import mail_receive
from cases.mail.models import InboundMail

logger = logging.getLogger(__name__)

class MailgunDoor(MailgunInboundWebhookView):
    """Mailgun's signature is its check: no basic auth (anymail's WEBHOOK_SECRET is Postmark's here)."""

    webhook_secret = None  # lets as_view() set it


class PostmarkDoor(PostmarkInboundWebhookView):
    webhook_secret = None


# door -> (anymail's view, the ANYMAIL setting that opens it, the basic auth it asks for)
DOORS = {
    InboundMail.Door.MAILGUN: (MailgunDoor, "MAILGUN_WEBHOOK_SIGNING_KEY", list),
    InboundMail.Door.POSTMARK: (PostmarkDoor, "WEBHOOK_SECRET", lambda: [settings.ANYMAIL["WEBHOOK_SECRET"]]),
}

# The events anymail's view hands out during one request: collected, then recorded once the
# view has accepted the post (so a fault of ours is a 5xx, not a 400 blamed on the sender).
_collected: contextvars.ContextVar[list | None] = contextvars.ContextVar("cases_mail_inbound", default=None)


def _collect(sender, event, esp_name, **kwargs) -> None:
    bucket = _collected.get()
    if bucket is None:  # another anymail inbound URL: not ours to record
        logger.warning("anymail inbound event outside cases.mail.doors", extra={"esp": esp_name})
        return
    bucket.append(event)


inbound.connect(_collect, dispatch_uid="cases.mail.doors.collect")


def _problem(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def _raw(message) -> bytes:
    try:
        return message.as_bytes()
    except Exception:  # noqa: BLE001 - headers the generator cannot fold: keep the text as it came
        return message.as_string().encode("utf-8", "surrogateescape")


@csrf_exempt
@require_POST
def inbound_door(request, door: str):
    view_class, secret, basic_auth = DOORS.get(door, (None, None, None))
    if view_class is None or not settings.ANYMAIL.get(secret):
        return _problem(404, f"Inbound e-mail through “{door}” is not set up here (see docs/email.md).")
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > settings.MAIL_INBOUND_MAX_BYTES:
        return _problem(413, f"Larger than {settings.MAIL_INBOUND_MAX_BYTES} bytes (MAIL_INBOUND_MAX_BYTES).")
    if request.content_type == "application/json":
        # Read here, under this door's limit: a reply with an attached photo is larger than the
        # site-wide DATA_UPLOAD_MAX_MEMORY_SIZE, which would refuse it as request.body is read.
        request._body = request.read(settings.MAIL_INBOUND_MAX_BYTES + 1)
        if len(request._body) > settings.MAIL_INBOUND_MAX_BYTES:  # sent without a Content-Length
            return _problem(413, f"Larger than {settings.MAIL_INBOUND_MAX_BYTES} bytes (MAIL_INBOUND_MAX_BYTES).")
        request._stream = io.BytesIO(request._body)
    bucket: list = []
    token = _collected.set(bucket)
    try:
        response = view_class.as_view(webhook_secret=basic_auth())(request)
    except AnymailWebhookValidationFailure:
        raise  # anymail's own answer to a bad signature or credentials: 400
    except (AnymailError, AnymailConfigurationError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return _problem(400, f"Not an inbound e-mail from {view_class.esp_name}: {type(exc).__name__}. "
                             "Point the provider's inbound (not tracking) webhook here.")
    finally:
        _collected.reset(token)
    if response.status_code != 200:
        return response
    received = []
    for event in bucket:
        message = event.message
        receipt = mail_receive(_raw(message), door=door, envelope_sender=message.envelope_sender,
                               envelope_recipient=message.envelope_recipient)
        received.append(receipt.as_dict())
    return JsonResponse({"received": received})
