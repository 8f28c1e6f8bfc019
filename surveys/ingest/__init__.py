"""The webhook edge: `POST|HEAD /webhooks/<slug>/`, from the request to a committed, published delivery.

Two doors, one set of decisions:

- `django_view`: the Django view (the web process, `make run`, the test client); one
  autocommitted INSERT per request.
- `asgi`: the ingest server (Procfile `ingest`, config.asgi) for throughput: checks in the event
  loop, group commit on its own connection.

Both run `checks.check` (source, size, content type, signature, parse -> an `Answer` or the
`Verified` delivery) and the per-source rate limit, store with the statements in `store`, and
hand each committed delivery to the workers with `publish.publish`. Processing the delivery
(adapters, recording the response) is surveys.services' job; this package imports nothing from it.

The names below are re-exported for callers outside the package; the doors import the modules
(`publish` is not re-exported: it would hide the module of that name).
"""

from surveys.ingest.checks import Answer, Verified, check
from surveys.ingest.store import KEPT_HEADERS, delivery_row, delivery_store, store_delivery

__all__ = ["KEPT_HEADERS", "Answer", "Verified", "check", "delivery_row", "delivery_store", "store_delivery"]
