"""Reads over journeys: which stage a response belongs to, and what is not mapped yet.

A response belongs to the stage of its touchpoint; a response whose touchpoint is not mapped
belongs to the stage of its survey; one whose survey is not mapped either, to the stage of its
webhook source; otherwise to no stage. `StageMap` holds one journey's mappings and writes that
precedence as SQL: a CASE expression to group by (the journey map) and a condition per stage (the
inbox's and the responses API's `journey_stage` filter), so a figure and its drill-down count
the same rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.utils import timezone

from journeys.models import Journey, Stage, StageMapping
from surveys.models import SurveyResponse

UNMAPPED_WINDOW_DAYS = 90


@dataclass(frozen=True)
class StageInfo:
    id: int
    name: str
    description: str
    position: int


@dataclass(frozen=True)
class StageMap:
    """One journey's stages (in order) and its mappings: stage id -> touchpoints / survey ids /
    source ids."""

    journey_id: int
    journey_name: str
    relationship_survey_id: int | None
    stages: tuple[StageInfo, ...]
    touchpoints: dict[int, frozenset[str]] = field(default_factory=dict)
    surveys: dict[int, frozenset[int]] = field(default_factory=dict)
    sources: dict[int, frozenset[int]] = field(default_factory=dict)

    @property
    def all_touchpoints(self) -> frozenset[str]:
        return frozenset().union(*self.touchpoints.values()) if self.touchpoints else frozenset()

    @property
    def all_surveys(self) -> frozenset[int]:
        return frozenset().union(*self.surveys.values()) if self.surveys else frozenset()

    @property
    def all_sources(self) -> frozenset[int]:
        return frozenset().union(*self.sources.values()) if self.sources else frozenset()

    @property
    def has_mappings(self) -> bool:
        return bool(self.touchpoints or self.surveys or self.sources)

    def fingerprint(self) -> str:
        """The same text in every process for the same journey, stages and mappings (a cache key)."""
        def canonical(mapping: dict) -> list:
            return sorted((k, sorted(v)) for k, v in mapping.items())

        return repr((self.journey_id, self.relationship_survey_id, self.stages, canonical(self.touchpoints),
                     canonical(self.surveys), canonical(self.sources)))

    def stage_expression(self, prefix: str = ""):
        """The stage id of a response (NULL for none): the WHENs in precedence order, touchpoints
        first, so the first that matches decides."""
        whens = [When(**{f"{prefix}touchpoint__in": sorted(tps)}, then=Value(stage_id))
                 for stage_id, tps in self.touchpoints.items() if tps]
        whens += [When(**{f"{prefix}survey_id__in": sorted(ids)}, then=Value(stage_id))
                  for stage_id, ids in self.surveys.items() if ids]
        whens += [When(**{f"{prefix}source_id__in": sorted(ids)}, then=Value(stage_id))
                  for stage_id, ids in self.sources.items() if ids]
        if not whens:
            return Value(None, output_field=IntegerField())
        return Case(*whens, default=Value(None), output_field=IntegerField())

    def stage_of(self, touchpoint: str | None, survey_id: int | None, source_id: int | None) -> int | None:
        """stage_expression in Python, for rows already grouped by the three keys (the journey map
        groups a period's rows by them in SQL, a few hundred groups, and names their stages here):
        the same WHENs in the same order."""
        for stage_id, tps in self.touchpoints.items():
            if touchpoint in tps:
                return stage_id
        for stage_id, ids in self.surveys.items():
            if survey_id in ids:
                return stage_id
        for stage_id, ids in self.sources.items():
            if source_id in ids:
                return stage_id
        return None

    def stage_q(self, stage_id: int, prefix: str = "") -> Q:
        """The responses of one stage, by the same precedence as stage_expression."""
        tps, surveys, sources = (self.touchpoints.get(stage_id, frozenset()), self.surveys.get(stage_id, frozenset()),
                                 self.sources.get(stage_id, frozenset()))
        nothing = Q(pk__in=[])
        by_touchpoint = Q(**{f"{prefix}touchpoint__in": sorted(tps)}) if tps else nothing
        not_touchpoint = ~Q(**{f"{prefix}touchpoint__in": sorted(self.all_touchpoints)}) if self.all_touchpoints else Q()
        by_survey = Q(**{f"{prefix}survey_id__in": sorted(surveys)}) if surveys else nothing
        not_survey = ~Q(**{f"{prefix}survey_id__in": sorted(self.all_surveys)}) if self.all_surveys else Q()
        by_source = Q(**{f"{prefix}source_id__in": sorted(sources)}) if sources else nothing
        return by_touchpoint | (not_touchpoint & by_survey) | (not_touchpoint & not_survey & by_source)

    def mapped_q(self, prefix: str = "") -> Q:
        """Responses that belong to any stage of this journey."""
        q = Q(pk__in=[])
        if self.all_touchpoints:
            q |= Q(**{f"{prefix}touchpoint__in": sorted(self.all_touchpoints)})
        if self.all_surveys:
            q |= Q(**{f"{prefix}survey_id__in": sorted(self.all_surveys)})
        if self.all_sources:
            q |= Q(**{f"{prefix}source_id__in": sorted(self.all_sources)})
        return q


def stage_map(journey: Journey | int) -> StageMap:
    """Two queries: the journey with its stages, and its mappings."""
    journey_id = journey.pk if isinstance(journey, Journey) else journey
    if not isinstance(journey, Journey):
        journey = Journey.objects.get(pk=journey_id)
    stages = tuple(StageInfo(s.pk, s.name, s.description, s.position)
                   for s in Stage.objects.filter(journey_id=journey_id).order_by("position", "pk"))
    touchpoints, surveys, sources = defaultdict(set), defaultdict(set), defaultdict(set)
    for kind, stage_id, tp, survey_id, source_id in StageMapping.objects.filter(journey_id=journey_id).values_list(
        "kind", "stage_id", "touchpoint", "survey_id", "source_id"
    ):
        if kind == StageMapping.Kind.TOUCHPOINT:
            touchpoints[stage_id].add(tp)
        elif kind == StageMapping.Kind.SURVEY:
            surveys[stage_id].add(survey_id)
        else:
            sources[stage_id].add(source_id)
    return StageMap(
        journey_id=journey_id,
        journey_name=journey.name,
        relationship_survey_id=journey.relationship_survey_id,
        stages=stages,
        touchpoints={k: frozenset(v) for k, v in touchpoints.items()},
        surveys={k: frozenset(v) for k, v in surveys.items()},
        sources={k: frozenset(v) for k, v in sources.items()},
    )


def stage_map_for_stage(stage_id: int) -> StageMap | None:
    journey_id = Stage.objects.filter(pk=stage_id).values_list("journey_id", flat=True).first()
    return stage_map(journey_id) if journey_id else None


def journeys_list():
    return Journey.objects.order_by("name")


def default_journey() -> Journey | None:
    return Journey.objects.order_by("name").first()


@dataclass(frozen=True)
class UnmappedTouchpoint:
    touchpoint: str
    responses: int
    without_stage: int  # of those, how many reach no stage through their survey or source either


def unmapped_touchpoints(smap: StageMap, *, days: int = UNMAPPED_WINDOW_DAYS, now: dt.datetime | None = None,
                         limit: int = 200) -> list[UnmappedTouchpoint]:
    """Touchpoints answered in the last `days` days that no touchpoint mapping of this journey
    names, busiest first, with how many of their responses belong to no stage at all."""
    since = (now or timezone.now()) - dt.timedelta(days=days)
    rows = (
        SurveyResponse.objects.filter(answered_at__gte=since).exclude(touchpoint="")
        .exclude(touchpoint__in=sorted(smap.all_touchpoints))
        .order_by()
        .values("touchpoint")
        .annotate(responses=Count("*"), without_stage=Count("pk", filter=~smap.mapped_q()) if smap.has_mappings
                  else Count("*"))
        .order_by("-responses", "touchpoint")[:limit]
    )
    return [UnmappedTouchpoint(r["touchpoint"], r["responses"], r["without_stage"]) for r in rows]


STAGE_CHOICES_KEY = "journeys:stage-choices"
STAGE_CHOICES_SECONDS = 10 * 60


def stage_choices() -> list[tuple[int, str]]:
    """Every stage as (id, "Journey: Stage"), journeys by name, stages in order: the inbox's
    Journey stage filter. Kept in the cache (the inbox's query budget has no room for it);
    journeys.services forgets it on every write to journeys or stages."""
    choices = cache.get(STAGE_CHOICES_KEY)
    if choices is None:
        choices = [(pk, f"{journey}: {name}") for pk, journey, name in
                   Stage.objects.order_by("journey__name", "position", "pk").values_list("pk", "journey__name", "name")]
        cache.set(STAGE_CHOICES_KEY, choices, STAGE_CHOICES_SECONDS)
    return choices


def stage_choices_changed() -> None:
    """After a write to journeys or stages: now, and again once it commits (a reader in between
    may have cached the old list)."""
    cache.delete(STAGE_CHOICES_KEY)
    transaction.on_commit(lambda: cache.delete(STAGE_CHOICES_KEY))
