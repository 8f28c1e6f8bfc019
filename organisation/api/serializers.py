"""Serializers of the settings API. Each runs the model's clean() (accounts.validation,
cases.validation) on the would-be object, so the API refuses exactly what the pages and the Django
admin refuse, with the same field messages; saving goes through the same services."""

from __future__ import annotations

import copy

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils.translation import gettext
from rest_framework import serializers

from core.api import SlugRelatedField

from accounts.models import ClosedDay, Membership, SlaPolicy, Team
from cases.models import NotificationPreference, RootCause, RootCauseCategory, RoutingRule
from segments.models import Segment
from surveys.models import Customer, Survey


class CleanedModelSerializer(serializers.ModelSerializer):
    """validate(): the model's clean() on a copy of the instance with the new values."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        model = self.Meta.model
        draft = copy.copy(self.instance) if self.instance is not None else model()
        for field, value in attrs.items():
            if not model._meta.get_field(field).many_to_many:
                setattr(draft, field, value)
        try:
            draft.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
        return attrs


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "username", "is_manager"]


class TeamSerializer(CleanedModelSerializer):
    """A team: `opening_hours` is what the SLA clocks read, per weekday key (mon..sun) a list of
    ["HH:MM", "HH:MM"] spans in `timezone`, each ending after it starts (an overnight shift is two
    spans: mon ["22:00", "24:00"] and tue ["00:00", "06:00"]). Saving `is_default: true` moves
    the default flag to this team; the default team cannot be switched off or deleted."""

    members = MemberSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "is_default", "assignment", "unanswered_attempt_stops_first_contact", "timezone", "opening_hours", "holiday_country",
                  "holiday_subdivision", "escalation", "escalation_delay_minutes", "escalation_email",
                  "slack_webhook_url", "msteams_webhook_url", "mail_from", "mail_reply_to_closed", "language", "members"]
        read_only_fields = ["slug"]
        # A new default is not a conflict: accounts.teams.team_save moves the flag.
        # "language": one of the four the product speaks, never blank (the customers' fallback).
        extra_kwargs = {"is_default": {"validators": []}, "language": {"allow_blank": False}}


class MembershipSerializer(serializers.ModelSerializer):
    class Meta:
        model = Membership
        fields = ["id", "team", "user", "is_manager"]


class ClosedDaySerializer(serializers.ModelSerializer):
    class Meta:
        model = ClosedDay
        fields = ["id", "team", "date", "name"]
        validators = []  # accounts.teams.closed_day_add says it in words


class SlaPolicySerializer(CleanedModelSerializer):
    class Meta:
        model = SlaPolicy
        fields = ["id", "name", "priority", "customer_tier", "first_contact_hours", "resolution_hours", "active"]


class RoutingRuleSerializer(CleanedModelSerializer):
    surveys = serializers.PrimaryKeyRelatedField(queryset=Survey.objects.all(), many=True, required=False)
    segments = SlugRelatedField(
        many=True, required=False, slug_field="slug", queryset=Segment.objects.all(),
        help_text="Slugs of named segments (/api/v1/segments/); the customer must be in any of them (empty: any).")

    class Meta:
        model = RoutingRule
        fields = ["id", "name", "order", "active", "team", "surveys", "touchpoints", "locations", "channels",
                  "customer_tiers", "segments", "metrics", "sla_policy"]


class RouteTestSerializer(serializers.Serializer):
    survey = serializers.PrimaryKeyRelatedField(queryset=Survey.objects.all(), required=False, allow_null=True)
    touchpoint = serializers.CharField(required=False, allow_blank=True, default="")
    location = serializers.CharField(required=False, allow_blank=True, default="")
    region = serializers.CharField(required=False, allow_blank=True, default="")
    channel = serializers.CharField(required=False, allow_blank=True, default="")
    customer_tier = serializers.CharField(required=False, allow_blank=True, default="")
    customer = serializers.CharField(required=False, allow_blank=True, default="",
                                     help_text="E-mail or external id of the customer it would come from (segments).")
    # A plain string, not a choice field: a second `metric` enum would collide in the schema
    # with alert rules' (drf_spectacular.W001).
    metric = serializers.CharField(default="nps", help_text="nps, csat or ces: the score the response carries.")

    def validate_customer(self, value: str):
        value = (value or "").strip()
        if not value:
            return None
        found = Customer.objects.filter(Q(email__iexact=value) | Q(external_id=value), merged_into__isnull=True).first()
        if found is None:
            raise serializers.ValidationError(f"No customer has the e-mail or external id “{value}”.")
        return found

    def validate_metric(self, value: str) -> str:
        if value not in ("nps", "csat", "ces"):
            raise serializers.ValidationError(gettext("Choose nps, csat or ces."))
        return value


class RouteAnswerSerializer(serializers.Serializer):
    team = serializers.SerializerMethodField()
    rule = serializers.SerializerMethodField()
    reason = serializers.CharField()

    def get_team(self, answer) -> dict:
        return {"id": answer.team.pk, "name": answer.team.name}

    def get_rule(self, answer) -> dict | None:
        return None if answer.rule is None else {"id": answer.rule.pk, "name": answer.rule.name}


class CauseSerializer(CleanedModelSerializer):
    class Meta:
        model = RootCause
        fields = ["id", "category", "name", "active"]


class CategorySerializer(CleanedModelSerializer):
    causes = serializers.SerializerMethodField()

    class Meta:
        model = RootCauseCategory
        fields = ["id", "name", "order", "active", "causes"]

    def get_causes(self, category) -> list[dict]:
        return [{"id": c.pk, "name": c.name, "active": c.active} for c in category.causes.all()]


class NotificationPreferenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = NotificationPreference
        fields = ["id", "user", "kind", "enabled"]
