"""Filters a higher app lends to a lower one's filter sets, by name.

The inbox (cases.filtersets) and the responses API (surveys.filtersets) accept `journey_stage=<id>`,
but a journey stage is a concept of the journeys app, which sits above both. The journeys app
registers a `ResponseScope` here when it starts (journeys.scopes); the filter sets look it up by
name and apply its condition over the response's fields. Without a registered scope the filter
matches nothing, never everything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q


@dataclass(frozen=True)
class ResponseScope:
    """`q(value, prefix)`: the condition over a response's fields (`prefix` is the path to the
    response, "" for responses, "response__" for cases); it raises ValueError for a value it does
    not know. `choices()`: (value, label) pairs for a picker."""

    q: Callable[[int, str], Q]
    choices: Callable[[], list[tuple[int, str]]]


_SCOPES: dict[str, ResponseScope] = {}


def register_response_scope(name: str, scope: ResponseScope) -> None:
    _SCOPES[name] = scope


def response_scope_q(name: str, value, prefix: str = "") -> Q:
    """The registered condition, or one that matches nothing (unknown scope or value)."""
    scope = _SCOPES.get(name)
    if scope is None:
        return Q(pk__in=[])
    try:
        return scope.q(value, prefix)
    except ValueError:
        return Q(pk__in=[])


def response_scope_choices(name: str) -> list[tuple[int, str]]:
    scope = _SCOPES.get(name)
    return scope.choices() if scope else []
