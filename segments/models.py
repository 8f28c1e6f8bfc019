"""Named segments: a definition over customer and account attributes that alert rules, routing,
the inbox and reports share. The definition is data (`conditions`, a JSON list checked by
segments.conditions.condition_problems); segments.conditions compiles it two ways, to a Django Q
over surveys.Customer and to a pure predicate over a CustomerFacts snapshot."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Segment(models.Model):
    """A named group of customers: every condition holds (`match` all) or at least one (any)."""

    class Match(models.TextChoices):
        ALL = "all", _("all conditions hold")
        ANY = "any", _("any condition holds")

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ALL)
    # [{"field": "tier" | "account_value" | "account.value" | "attributes.<key>" | ..., "operator":
    # "equals" | "one_of" | "contains" | "gte" | "lte" | "is_set", "value": ...}, ...] in order.
    conditions = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from segments.conditions import condition_problems

        problems = condition_problems(self.conditions)
        if problems:
            raise ValidationError({"conditions": problems})
