from django.core.mail.backends.base import BaseEmailBackend


class FailingBackend(BaseEmailBackend):
    """An SMTP server that refuses every connection."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server refused the connection")


class BouncingBackend(BaseEmailBackend):
    """A server that refuses mail to one address and takes the rest (kept in `sent`)."""

    sent: list = []

    def send_messages(self, messages):
        for message in messages:
            if "bounce@example.com" in message.to:
                raise ConnectionRefusedError("550 mailbox unavailable")
        BouncingBackend.sent.extend(messages)
        return len(messages)
