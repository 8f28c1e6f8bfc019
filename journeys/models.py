"""Customer journeys: an admin's ordered stages (discover, buy, receive, use, get help, renew) and
what maps a response to a stage: its touchpoint first, then its survey, then its webhook source
(journeys.selectors.StageMap applies that precedence; docs/journeys.md)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from surveys.models import Survey, WebhookSource


class Journey(models.Model):
    """A named journey ("Subscriber"). `relationship_survey` is the survey whose NPS answer is the
    customer's relationship score, the outcome the journey map's moments of truth are estimated
    against; without one the map says how to choose it."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    relationship_survey = models.ForeignKey(
        Survey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text=_("The relationship NPS survey: moments of truth are the stages whose scores move its answers most."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """One step of a journey, shown in `position` order (0 first)."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["journey", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "name"], name="journeys_stage_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class StageMapping(models.Model):
    """One touchpoint, survey or webhook source that belongs to a stage. Within a journey each
    touchpoint, survey and source maps to one stage at most (the constraints below)."""

    class Kind(models.TextChoices):
        TOUCHPOINT = "touchpoint", _("Touchpoint")
        SURVEY = "survey", _("Survey")
        SOURCE = "source", _("Webhook source")

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="mappings")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="mappings")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    touchpoint = models.CharField(max_length=120, blank=True)
    survey = models.ForeignKey(Survey, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey(WebhookSource, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "touchpoint", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "touchpoint"], condition=Q(kind="touchpoint"),
                                    name="journeys_mapping_unique_touchpoint"),
            models.UniqueConstraint(fields=["journey", "survey"], condition=Q(kind="survey"),
                                    name="journeys_mapping_unique_survey"),
            models.UniqueConstraint(fields=["journey", "source"], condition=Q(kind="source"),
                                    name="journeys_mapping_unique_source"),
            models.CheckConstraint(
                condition=(Q(kind="touchpoint", survey__isnull=True, source__isnull=True) & ~Q(touchpoint=""))
                | Q(kind="survey", survey__isnull=False, source__isnull=True, touchpoint="")
                | Q(kind="source", source__isnull=False, survey__isnull=True, touchpoint=""),
                name="journeys_mapping_one_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.target_label} → {self.stage}"

    @property
    def target_label(self) -> str:
        if self.kind == self.Kind.TOUCHPOINT:
            return self.touchpoint
        if self.kind == self.Kind.SURVEY:
            return self.survey.name if self.survey_id else "?"
        return self.source.name if self.source_id else "?"
