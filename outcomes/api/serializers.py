from __future__ import annotations

from rest_framework import serializers

from outcomes.models import OutcomeEvent


class OutcomeEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = OutcomeEvent
        fields = ["id", "customer", "account", "kind", "amount", "currency", "occurred_at", "source", "external_id",
                  "attributes", "created_at", "updated_at"]
        read_only_fields = fields


class OutcomeItemSerializer(serializers.Serializer):
    """One item of a bulk create (for the schema; items are checked by outcomes.rows.outcome_row_parse)."""

    kind = serializers.ChoiceField(choices=OutcomeEvent.Kind.choices)
    amount = serializers.DecimalField(max_digits=18, decimal_places=3)
    currency = serializers.CharField(help_text="ISO 4217 code, e.g. EUR, USD, JPY.")
    occurred_at = serializers.DateTimeField(required=False, help_text="Or occurred_on, a date.")
    occurred_on = serializers.DateField(required=False)
    external_id = serializers.CharField(help_text="The event's id in its source: sending it again updates it.")
    source = serializers.CharField(required=False, help_text="Default: api.")
    customer = serializers.IntegerField(required=False)
    customer_external_id = serializers.CharField(required=False)
    customer_email = serializers.EmailField(required=False)
    account = serializers.IntegerField(required=False)
    account_external_id = serializers.CharField(required=False)
    attributes = serializers.DictField(required=False)


class OutcomeItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "updated", "unchanged", "error"])
    id = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class OutcomeBulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = serializers.IntegerField()
    results = OutcomeItemResultSerializer(many=True)
