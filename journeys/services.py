"""Writes to journeys: the settings pages and /api/v1/journeys/ both call these. Every row they
write is recorded by the audit trail (AUDITLOG_INCLUDE_TRACKING_MODELS in config/settings/audit.py)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from journeys.models import Journey, Stage, StageMapping
from journeys.selectors import stage_choices_changed
from surveys.models import Survey, WebhookSource

DEFAULT_STAGES = ["Discover", "Buy", "Receive", "Use", "Get help", "Renew"]


@transaction.atomic
def journey_create(*, name: str, description: str = "", relationship_survey: Survey | None = None,
                   stage_names: list[str] | None = None) -> Journey:
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the journey a name.")})
    if Journey.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": _("A journey named “%(name)s” exists already.") % {"name": name}})
    stage_names = _new_stage_names(stage_names or [])
    journey = Journey.objects.create(name=name, description=description, relationship_survey=relationship_survey)
    for position, stage_name in enumerate(stage_names):
        Stage.objects.create(journey=journey, name=stage_name, position=position)
    stage_choices_changed()
    return journey


def _new_stage_names(names: list[str]) -> list[str]:
    """A new journey's stage names, trimmed: none blank and none twice (letter case aside), as
    stage_create holds one stage at a time; refused whole, before anything is written."""
    cleaned, seen = [], set()
    for raw in names:
        name = raw.strip()
        if not name:
            raise ValidationError({"stages": _("Give every stage a name.")})
        if name.casefold() in seen:
            raise ValidationError({"stages": _("The stage “%(name)s” is named twice.") % {"name": name}})
        seen.add(name.casefold())
        cleaned.append(name)
    return cleaned


@transaction.atomic
def journey_update(*, journey: Journey, name: str, description: str = "",
                   relationship_survey: Survey | None = None) -> Journey:
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the journey a name.")})
    if Journey.objects.filter(name__iexact=name).exclude(pk=journey.pk).exists():
        raise ValidationError({"name": _("A journey named “%(name)s” exists already.") % {"name": name}})
    journey.name, journey.description, journey.relationship_survey = name, description, relationship_survey
    journey.save()
    stage_choices_changed()
    return journey


def journey_delete(*, journey: Journey) -> None:
    journey.delete()  # its stages and mappings go with it (each recorded by the audit trail)
    stage_choices_changed()


@transaction.atomic
def stage_create(*, journey: Journey, name: str, description: str = "") -> Stage:
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the stage a name.")})
    Journey.objects.select_for_update().get(pk=journey.pk)  # positions are handed out one at a time
    if journey.stages.filter(name__iexact=name).exists():
        raise ValidationError({"name": _("This journey has a stage named “%(name)s” already.") % {"name": name}})
    last = journey.stages.aggregate(m=Max("position"))["m"]
    stage = Stage.objects.create(journey=journey, name=name, description=description,
                                 position=0 if last is None else last + 1)
    stage_choices_changed()
    return stage


@transaction.atomic
def stage_update(*, stage: Stage, name: str, description: str = "") -> Stage:
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the stage a name.")})
    if stage.journey.stages.filter(name__iexact=name).exclude(pk=stage.pk).exists():
        raise ValidationError({"name": _("This journey has a stage named “%(name)s” already.") % {"name": name}})
    stage.name, stage.description = name, description
    stage.save()
    stage_choices_changed()
    return stage


@transaction.atomic
def stage_delete(*, stage: Stage) -> None:
    journey_id = stage.journey_id
    stage.delete()
    _renumber(journey_id)
    stage_choices_changed()


@transaction.atomic
def stages_reorder(*, journey: Journey, stage_ids: list[int]) -> list[Stage]:
    """Put the journey's stages in this order; every stage must be named exactly once."""
    Journey.objects.select_for_update().get(pk=journey.pk)
    stages = {s.pk: s for s in journey.stages.all()}
    if sorted(stage_ids) != sorted(stages):
        raise ValidationError({"stages": _("List every stage of the journey exactly once.")})
    ordered = [stages[pk] for pk in stage_ids]
    for position, stage in enumerate(ordered):
        if stage.position != position:
            stage.position = position
            stage.save(update_fields=["position"])
    stage_choices_changed()
    return ordered


def stage_move(*, stage: Stage, offset: int) -> list[Stage]:
    """One place earlier (-1) or later (+1); at either end nothing changes."""
    ids = list(stage.journey.stages.order_by("position", "pk").values_list("pk", flat=True))
    index = ids.index(stage.pk)
    target = max(0, min(len(ids) - 1, index + offset))
    ids.insert(target, ids.pop(index))
    return stages_reorder(journey=stage.journey, stage_ids=ids)


def _renumber(journey_id: int) -> None:
    for position, stage in enumerate(Stage.objects.filter(journey_id=journey_id).order_by("position", "pk")):
        if stage.position != position:
            stage.position = position
            stage.save(update_fields=["position"])


@transaction.atomic
def mapping_set(*, stage: Stage, touchpoint: str = "", survey: Survey | None = None,
                source: WebhookSource | None = None) -> StageMapping:
    """Map one touchpoint, survey or source to `stage`; one already mapped in this journey moves
    to the new stage (one row, its stage changed)."""
    touchpoint = (touchpoint or "").strip()
    given = [bool(touchpoint), survey is not None, source is not None]
    if sum(given) != 1:
        raise ValidationError(_("Map exactly one touchpoint, survey or webhook source."))
    if touchpoint:
        kind, lookup = StageMapping.Kind.TOUCHPOINT, {"touchpoint": touchpoint[:120]}
    elif survey is not None:
        kind, lookup = StageMapping.Kind.SURVEY, {"survey": survey}
    else:
        kind, lookup = StageMapping.Kind.SOURCE, {"source": source}
    Journey.objects.select_for_update().get(pk=stage.journey_id)
    existing = StageMapping.objects.filter(journey_id=stage.journey_id, kind=kind, **lookup).first()
    if existing is not None:
        if existing.stage_id != stage.pk:
            existing.stage = stage
            existing.save(update_fields=["stage"])
        return existing
    return StageMapping.objects.create(journey_id=stage.journey_id, stage=stage, kind=kind, **lookup)


def mapping_delete(*, mapping: StageMapping) -> None:
    mapping.delete()
