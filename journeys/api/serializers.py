"""The shapes of /api/v1/journeys/: a journey with its ordered stages and what maps to each."""

from __future__ import annotations

from rest_framework import serializers

from core.api import SlugRelatedField

from journeys.models import Journey, Stage, StageMapping
from surveys.models import Survey, WebhookSource

ID_MAX = 2**63 - 1  # a bigint id: a larger number is a 400, not a database error


class MappingSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="The webhook source's slug.")

    class Meta:
        model = StageMapping
        fields = ["id", "stage", "kind", "touchpoint", "survey", "source"]


class StageSerializer(serializers.ModelSerializer):
    mappings = MappingSerializer(many=True, read_only=True)

    class Meta:
        model = Stage
        fields = ["id", "name", "description", "position", "mappings"]
        read_only_fields = ["position"]


class JourneySerializer(serializers.ModelSerializer):
    stages = serializers.SerializerMethodField()

    class Meta:
        model = Journey
        fields = ["id", "name", "description", "relationship_survey", "stages", "created_at"]

    def get_stages(self, journey) -> list[dict]:
        # The stages come prefetched in order (journeys.api.views); mappings attached per stage.
        return StageSerializer(journey.stages.all(), many=True).data


class JourneyInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    relationship_survey = serializers.PrimaryKeyRelatedField(queryset=Survey.objects.all(), required=False,
                                                             allow_null=True, default=None)
    stages = serializers.ListField(child=serializers.CharField(max_length=120), required=False, default=list,
                                   help_text="Names of the stages to create, in order (on create only).")


class StageInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ReorderInputSerializer(serializers.Serializer):
    stages = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=ID_MAX),
                                   help_text="Every stage id, in the new order.")


class MappingInputSerializer(serializers.Serializer):
    stage = serializers.IntegerField(min_value=1, max_value=ID_MAX, help_text="A stage of this journey.")
    touchpoint = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    survey = serializers.PrimaryKeyRelatedField(queryset=Survey.objects.all(), required=False, allow_null=True,
                                                default=None)
    source = SlugRelatedField(slug_field="slug", queryset=WebhookSource.objects.all(), required=False,
                                          allow_null=True, default=None)
