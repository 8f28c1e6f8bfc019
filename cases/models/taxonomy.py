"""The root-cause taxonomy and the routing rules that send a case to a team."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import SlaPolicy, Team
from cases.validation import refuse, routing_rule_problems, taxonomy_name_problems
from surveys.models import Survey



class RootCauseCategory(models.Model):
    """Top level of the root-cause taxonomy (Product, Delivery, Staff...)."""

    name = models.CharField(max_length=120, unique=True)
    active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "root cause categories"

    def __str__(self) -> str:
        return self.name

    def clean(self):
        refuse(taxonomy_name_problems(self.name))


class RootCause(models.Model):
    """A cause within a category. Retire (active=False) rather than delete: history keeps it."""

    category = models.ForeignKey(RootCauseCategory, on_delete=models.PROTECT, related_name="causes")
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category__order", "category__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["category", "name"], name="cases_rootcause_unique_category_name"),
        ]

    def __str__(self) -> str:
        return f"{self.category.name} > {self.name}"

    def clean(self):
        refuse(taxonomy_name_problems(self.name))


class RoutingRule(models.Model):
    """Ordered conditions choosing the team for a case; the default team catches the rest.
    Empty lists mean "any"."""

    name = models.CharField(max_length=160)
    order = models.PositiveIntegerField(default=100)
    active = models.BooleanField(default=True)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="routing_rules")
    surveys = models.ManyToManyField(Survey, blank=True, related_name="+")
    touchpoints = models.JSONField(default=list, blank=True)
    locations = models.JSONField(default=list, blank=True, help_text=_("Locations or regions."))
    channels = models.JSONField(default=list, blank=True)
    customer_tiers = models.JSONField(default=list, blank=True)
    segments = models.ManyToManyField(
        "segments.Segment", blank=True, related_name="routing_rules",
        help_text=_("The customer is in any of these named segments (empty: any customer)."),
    )
    metrics = models.JSONField(default=list, blank=True, help_text=_("nps, csat, ces or question keys."))
    sla_policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text=_("Blank: the policy for the case's priority and customer tier (an alert rule's policy wins)."),
    )

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self):  # the same refusals as the settings page and the API
        refuse(routing_rule_problems({"sla_policy": self.sla_policy if self.sla_policy_id else None, **{
            f: getattr(self, f) for f in ("name", "touchpoints", "locations", "channels", "customer_tiers", "metrics")}}))


