"""Segments in the API: the definition as the settings page edits it, and how many customers it
holds now (`member_count`, computed for the whole page in one query by the view)."""

from __future__ import annotations

from rest_framework import serializers

from segments.conditions import condition_problems
from segments.models import Segment


class SegmentSerializer(serializers.ModelSerializer):
    conditions = serializers.JSONField(
        help_text='Ordered list of {"field", "operator", "value"}: fields tier, segment, account_value, '
                  'churn_risk, account.value, account.churn_risk, region, lifecycle_stage, industry or attributes.<key>; operators equals, '
                  'one_of (a list), contains, gte, lte, is_set (no value).')
    member_count = serializers.SerializerMethodField()
    slug = serializers.SlugField(max_length=120, required=False, allow_blank=True)

    class Meta:
        model = Segment
        fields = ["id", "name", "slug", "description", "match", "conditions", "member_count", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def get_member_count(self, segment) -> int | None:
        counts = self.context.get("member_counts") or {}
        return counts.get(segment.pk)

    def validate_conditions(self, value):
        problems = condition_problems(value)
        if problems:
            raise serializers.ValidationError(problems)
        return value


class SegmentPreviewSerializer(serializers.Serializer):
    match = serializers.ChoiceField(choices=Segment.Match.choices, default=Segment.Match.ALL)
    conditions = serializers.JSONField()

    def validate_conditions(self, value):
        problems = condition_problems(value)
        if problems:
            raise serializers.ValidationError(problems)
        return value
