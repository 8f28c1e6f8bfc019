from django.core.mail.backends.base import BaseEmailBackend


class FailingBackend(BaseEmailBackend):
    """An SMTP server that refuses every connection."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server refused the connection")
