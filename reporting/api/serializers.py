"""The shape of a report in the API (for the OpenAPI schema; the view returns Table.to_json())."""

from rest_framework import serializers


class ReportColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField(help_text="What the column holds, with its unit (%, business h).")
    numeric = serializers.BooleanField()


class ReportSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    columns = ReportColumnSerializer(many=True)
    rows = serializers.ListField(
        child=serializers.DictField(), help_text="One object per row, keyed by column key; null when there is no data."
    )
    links = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        help_text="Per row: column key -> inbox URL listing the cases behind that figure.",
    )
    filters = serializers.DictField(help_text="The filters the figures were computed with.")
    generated_at = serializers.DateTimeField()


class ReportIndexEntrySerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.URLField()
    csv_url = serializers.URLField()
