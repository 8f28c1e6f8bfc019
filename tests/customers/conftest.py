import json

import pytest

from surveys.models import WebhookDelivery
from tests.cases.conftest import _taxonomy  # noqa: F401  (the seeded root causes, for closing cases)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Personas are created per test; a slow password hash would dominate the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def body(response_id: str, *, nps: int = 9, external_id: str = "", email: str = "", phone: str = "",
         name: str = "Ann Lee", answered_at: str = "2026-03-01T10:00:00Z", channel: str = "email") -> bytes:
    customer = {k: v for k, v in {"external_id": external_id, "email": email, "phone": phone, "name": name}.items() if v}
    return json.dumps({"type": "response.completed", "timestamp": answered_at, "data": {
        "response_id": response_id, "survey": {"id": "rel", "name": "Relationship NPS"}, "answered_at": answered_at,
        "scores": {"nps": nps}, "comment": "", "customer": customer, "touchpoint": "delivery", "channel": channel,
    }}).encode()


def stored(source, payload: bytes, delivery_id: str) -> int:
    """A delivery stored and not yet processed (the batch is its first processing)."""
    return WebhookDelivery.objects.create(source=source, delivery_id=delivery_id, content_type="application/json",
                                          headers={}, body=payload).pk
