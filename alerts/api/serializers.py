"""API shapes for alert rules and alerts. Rule validation is alerts.validation.rule_problems (the
same validator as the model and the editor); writes go through alerts.services."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import User
from alerts import services
from alerts.models import Alert, AlertRule
from alerts.reasons import describe_reasons
from alerts.summary import rule_summary
from alerts.validation import rule_problems
from core.api import SlugRelatedField
from segments.models import Segment
from surveys.models import Theme

CONDITION_FIELDS = (
    "metric", "metric_key", "operator", "threshold", "threshold_high", "scale_min", "scale_max", "keywords",
    "keyword_mode", "comment_presence", "sentiment", "action", "notify_team",
)


class StringList(serializers.ListField):
    child = serializers.CharField(max_length=200, allow_blank=False, trim_whitespace=True)


class AlertRuleSerializer(serializers.ModelSerializer):
    summary = serializers.SerializerMethodField()
    scale = serializers.SerializerMethodField()
    touchpoints = StringList(required=False)
    channels = StringList(required=False)
    locations = StringList(required=False)
    customer_tiers = StringList(required=False)
    customer_segments = StringList(required=False)
    keywords = StringList(required=False)
    notify_users = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=User.objects.filter(is_active=True)
    )
    themes = SlugRelatedField(
        many=True, required=False, slug_field="slug", queryset=Theme.objects.filter(status=Theme.Status.ACTIVE),
        help_text="Slugs of active themes; the comment must be about any of them (empty: any).",
    )
    segments = SlugRelatedField(
        many=True, required=False, slug_field="slug", queryset=Segment.objects.all(),
        help_text="Slugs of named segments (/api/v1/segments/); the customer must be in any of them (empty: any).",
    )

    class Meta:
        model = AlertRule
        fields = [
            "id", "name", "active", "order", "metric", "metric_key", "scale_min", "scale_max", "ces_high_is_easy",
            "scale", "operator", "threshold", "threshold_high", "surveys", "touchpoints", "channels", "locations",
            "customer_tiers", "customer_segments", "segments", "keywords", "keyword_mode", "themes",
            "comment_presence", "sentiment", "action", "case_priority", "case_team", "sla_policy", "notify_users", "notify_team",
            "stop_processing", "repeat_window_days", "summary", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"order": {"required": False}, "surveys": {"required": False}}

    def get_summary(self, rule) -> str:
        return rule_summary(rule)

    def get_scale(self, rule) -> list[int] | None:
        scale = rule.scale
        return list(scale) if scale else None

    def validate(self, attrs):
        values = {}
        for name in CONDITION_FIELDS:
            if name in attrs:
                values[name] = attrs[name]
            elif self.instance is not None:
                values[name] = getattr(self.instance, name)
            else:
                values[name] = AlertRule._meta.get_field(name).get_default()
        if "notify_users" in attrs:
            values["notify_users"] = attrs["notify_users"]
        elif self.instance is not None:
            values["notify_users"] = list(self.instance.notify_users.all())
        else:
            values["notify_users"] = []
        if "themes" in attrs:
            values["themes"] = attrs["themes"]
        elif self.instance is not None:
            values["themes"] = list(self.instance.themes.all())
        problems = rule_problems(values)
        if problems:
            raise serializers.ValidationError(problems)
        return attrs

    def _split(self, validated: dict) -> tuple[dict, dict]:
        m2m = {name: validated.pop(name) for name in ("surveys", "notify_users", "themes", "segments")
               if name in validated}
        return validated, m2m

    def create(self, validated_data):
        data, m2m = self._split(dict(validated_data))
        return services.rule_create(data=data, **m2m)

    def update(self, instance, validated_data):
        data, m2m = self._split(dict(validated_data))
        return services.rule_update(rule=instance, data=data, **m2m)


class DraftRuleSerializer(AlertRuleSerializer):
    """A rule to backtest without saving: the same fields, plus how many days to replay."""

    days = serializers.IntegerField(min_value=1, max_value=365, default=30, write_only=True)

    class Meta(AlertRuleSerializer.Meta):
        fields = AlertRuleSerializer.Meta.fields + ["days"]
        extra_kwargs = {**AlertRuleSerializer.Meta.extra_kwargs, "name": {"required": False}}


class BacktestDaysSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=365, default=30)


class BucketSerializer(serializers.Serializer):
    name = serializers.CharField()
    alerts = serializers.IntegerField()
    cases = serializers.IntegerField()


class BacktestResultSerializer(serializers.Serializer):
    rule_name = serializers.CharField()
    action = serializers.CharField()
    days = serializers.IntegerField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    scanned = serializers.IntegerField(help_text="Responses answered in the window that were checked.")
    alerts = serializers.IntegerField()
    cases = serializers.IntegerField(help_text="New cases, at most one per customer per repeat window.")
    attached = serializers.IntegerField(help_text="Matches that would join the customer's recent case.")
    by_team = BucketSerializer(many=True)
    by_touchpoint = BucketSerializer(many=True)
    by_week = BucketSerializer(many=True)
    samples = serializers.ListField(child=serializers.DictField())


class AlertSerializer(serializers.ModelSerializer):
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    customer = serializers.IntegerField(source="response.customer_id", read_only=True)
    team = serializers.IntegerField(source="response.team_id", read_only=True)
    touchpoint = serializers.CharField(source="response.touchpoint", read_only=True)
    comment = serializers.CharField(source="response.comment", read_only=True)
    reasons = serializers.SerializerMethodField(
        help_text="Why the rule matched, in the requester's language (Accept-Language).")
    reason_codes = serializers.JSONField(
        source="reasons", read_only=True,
        help_text='The same reasons as stored: [{"code": "score", "metric": "nps", "value": 2, "op": "lte", '
                  '"threshold": 6}, ...] (docs/alert-rules.md).')

    class Meta:
        model = Alert
        fields = [
            "id", "rule", "rule_name", "response", "action", "reasons", "reason_codes", "customer", "team", "touchpoint", "comment",
            "praised_user", "email_status", "emailed_at", "created_at",
        ]
        read_only_fields = fields

    def get_reasons(self, alert) -> list[str]:
        return describe_reasons(alert.reasons)
