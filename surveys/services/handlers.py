"""Deliveries that are not survey responses: a vendor's handler, registered by the app that owns
what they become (outcomes registers Stripe's from its AppConfig.ready). The surveys app cannot
import those apps (they sit above it), so the door calls them through this registry: same store,
same claim, retry, failure and replay, a different recording step.

A handler takes the claimed delivery (its source selected) and runs inside the transaction that
marks it processed. It returns the note to keep on the delivery ("" when it recorded something);
raising MappingError or PayloadError fails the delivery with that message (a person must act,
then replay), other errors go to delivery_fail_or_retry as a response's would."""

from __future__ import annotations

from collections.abc import Callable

DeliveryHandler = Callable[[object], str]
_HANDLERS: dict[str, DeliveryHandler] = {}


def delivery_handler_register(vendor: str, handler: DeliveryHandler) -> None:
    _HANDLERS[vendor] = handler


def delivery_handler(vendor: str) -> DeliveryHandler | None:
    return _HANDLERS.get(vendor)
