"""Fetching a thin webhook's response from the vendor's API (only ever inside the worker)."""

from __future__ import annotations

import requests

from surveys.adapters import FetchRequest, MappingError

TIMEOUT_SECONDS = (3.05, 15)


class TransientError(Exception):
    """Worth retrying later: the vendor or the network is having a bad moment."""


def fetch(request: FetchRequest) -> dict:
    try:
        reply = requests.get(request.url, headers=request.headers, params=request.params, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise TransientError(f"Could not reach {request.url}: {exc.__class__.__name__}") from exc
    if reply.status_code in (408, 429) or reply.status_code >= 500:
        raise TransientError(f"{request.url} answered {reply.status_code}")
    if reply.status_code in (401, 403):
        raise MappingError(f"The vendor API refused the credentials ({reply.status_code}): check the source's API token.")
    if reply.status_code == 404:
        raise MappingError(f"The vendor API does not know this response (404 from {request.url}).")
    if reply.status_code >= 400:
        raise MappingError(f"The vendor API answered {reply.status_code}: {reply.text[:200]}")
    try:
        return {request.key: reply.json()}
    except ValueError:
        raise TransientError(f"{request.url} answered something that is not JSON") from None
