"""Recognition API shape (read-only)."""

from __future__ import annotations

from rest_framework import serializers

from cases.api.serializers import PersonSerializer, TeamRefSerializer
from followup.models import Recognition


class RecognitionSerializer(serializers.ModelSerializer):
    praised_user = PersonSerializer(allow_null=True, read_only=True)
    team = TeamRefSerializer(allow_null=True, read_only=True)
    response = serializers.IntegerField(source="response_id", read_only=True)
    touchpoint = serializers.CharField(source="response.touchpoint", read_only=True)
    answered_at = serializers.DateTimeField(source="response.answered_at", read_only=True)
    notified = serializers.SerializerMethodField()

    class Meta:
        model = Recognition
        fields = ["id", "response", "praised_user", "location", "team", "quote", "score", "touchpoint",
                  "answered_at", "created_at", "notified", "notified_at"]
        read_only_fields = fields

    def get_notified(self, obj) -> bool:
        return obj.notified_at is not None
