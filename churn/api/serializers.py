from rest_framework import serializers

from churn.models import ChurnModel


class ReliabilityRowSerializer(serializers.Serializer):
    low = serializers.FloatField()
    high = serializers.FloatField()
    customers = serializers.IntegerField()
    predicted = serializers.FloatField(help_text="Mean predicted risk of the customers in this band.")
    observed = serializers.FloatField(help_text="Share of them who churned.")


class ChurnModelSerializer(serializers.ModelSerializer):
    """A model of customers or of accounts (`subject`); counts are of that kind."""

    reliability = ReliabilityRowSerializer(many=True)
    features = serializers.SerializerMethodField()

    class Meta:
        model = ChurnModel
        fields = [
            "id",
            "subject",
            "created_at",
            "horizon_days",
            "train_reference_at",
            "reference_at",
            "trained_on",
            "churns",
            "held_out",
            "held_out_churns",
            "auc",
            "brier",
            "base_rate",
            "reliability",
            "features",
            "scored",
        ]
        read_only_fields = fields

    def get_features(self, model) -> list[str]:
        return list(model.parameters.get("features", []))


class ModelStatusSerializer(serializers.Serializer):
    """A model in use and its held-out figures, or null and why there is none."""

    model = ChurnModelSerializer(allow_null=True)
    why_not = serializers.CharField(help_text="Empty with a model; otherwise why nothing is scored.")


class ChurnStatusSerializer(ModelStatusSerializer):
    """The customers' model (or why there is none), and the accounts' beside it."""

    accounts = ModelStatusSerializer(help_text="The accounts' own model, trained on churn events naming an account.")


class CustomerRiskSerializer(serializers.Serializer):
    customer = serializers.IntegerField(source="subject_id")
    risk = serializers.FloatField(help_text="0..1: the chance of churning within the model's horizon.")
    reasons = serializers.ListField(child=serializers.CharField(), help_text="The main reasons, largest first.")


class AccountRiskSerializer(serializers.Serializer):
    account = serializers.IntegerField(source="subject_id")
    risk = serializers.FloatField(help_text="0..1: the chance of the account churning within the accounts' model's horizon.")
    reasons = serializers.ListField(child=serializers.CharField(), help_text="The main reasons, largest first.")
