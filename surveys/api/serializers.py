from rest_framework import serializers

from surveys.models import Customer, SurveyResponse


class ResponseSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    survey_name = serializers.CharField(source="survey.name", read_only=True)
    nps_group = serializers.CharField(read_only=True)

    class Meta:
        model = SurveyResponse
        fields = [
            "id", "source", "survey", "survey_name", "customer", "external_id", "answered_at", "received_at",
            "nps", "nps_group", "csat", "csat_scale_min", "csat_scale_max", "ces", "ces_scale_min", "ces_scale_max",
            "ces_high_is_easy", "scores", "comment", "sentiment", "touchpoint", "channel", "location", "region",
            "attributes", "team",
        ]
        read_only_fields = fields


class CustomerResponseSerializer(ResponseSerializer):
    class Meta(ResponseSerializer.Meta):
        fields = ["id", "source", "survey", "survey_name", "external_id", "answered_at", "nps", "csat", "ces",
                  "scores", "comment", "touchpoint", "location", "team"]
        read_only_fields = fields


class CustomerSerializer(serializers.ModelSerializer):
    responses = CustomerResponseSerializer(source="visible_responses", many=True, read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "external_id", "email", "name", "phone", "tier", "segment", "account_value", "attributes",
                  "contact_opt_out", "created_at", "updated_at", "responses"]
        read_only_fields = fields
