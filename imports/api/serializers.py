"""What /api/v1/imports/ and the bulk endpoints answer (docs/imports.md)."""

from __future__ import annotations

from rest_framework import serializers

from imports.models import ImportJob, ImportRowError


class ImportJobSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    percent = serializers.IntegerField(read_only=True, help_text="Rows done of rows total, 0-100.")
    columns = serializers.JSONField(read_only=True, help_text="{header in the file: column it was read as, \"\" "
                                                               "for an extra column kept as an attribute, null for "
                                                               "a column ignored}.")

    class Meta:
        model = ImportJob
        fields = ["id", "kind", "status", "file_name", "encoding", "delimiter", "columns", "via", "rows_total",
                  "rows_done", "rows_created", "rows_updated", "rows_unchanged", "rows_failed", "percent", "message",
                  "created_by", "created_at", "started_at", "finished_at"]
        read_only_fields = fields


class ImportUploadSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="What the file holds: customers, accounts, contacts (every registered "
                                           "importer).")
    file = serializers.FileField(help_text="A CSV file (UTF-8, UTF-16 or Latin-1; comma, semicolon, tab or pipe).")


class RowErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportRowError
        fields = ["row", "column", "message", "values"]
        read_only_fields = fields


class BulkUpsertErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The field, or \"\" for the item as a whole.")
    message = serializers.CharField()


class BulkUpsertItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in the array, from 0.")
    status = serializers.ChoiceField(choices=["created", "updated", "unchanged", "error"])
    id = serializers.IntegerField(allow_null=True, help_text="The record's id (null for an error).")
    errors = BulkUpsertErrorSerializer(many=True)


class BulkUpsertResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BulkUpsertItemSerializer(many=True)
