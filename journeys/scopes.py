"""The `journey_stage` filter lent to the inbox and the responses API (core.scopes)."""

from __future__ import annotations

from django.db.models import Q

from core.scopes import ResponseScope, register_response_scope


def _stage_q(value, prefix: str) -> Q:
    from journeys.selectors import stage_map_for_stage

    try:
        stage_id = int(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(value) from exc
    smap = stage_map_for_stage(stage_id)
    if smap is None:
        raise ValueError(value)
    return smap.stage_q(stage_id, prefix)


def _choices():
    from journeys.selectors import stage_choices

    return stage_choices()


def register() -> None:
    register_response_scope("journey_stage", ResponseScope(q=_stage_q, choices=_choices))
