"""What /api/v1/customers/ and /api/v1/accounts/ answer (docs/customers.md)."""

from __future__ import annotations

from rest_framework import serializers

from core.api import SlugRelatedField

from accounts.models import Team
from customers.models import Account, AccountRule, Identity
from customers.services import CHANNELS
from surveys.consent import Consent
from surveys.models import Customer


class IdentitySerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="slug", read_only=True,
                                          help_text="The source of an external id (null for e-mails and phones).")

    class Meta:
        model = Identity
        fields = ["kind", "value", "source", "created_at"]
        read_only_fields = fields


class CustomerSerializer(serializers.ModelSerializer):
    identities = IdentitySerializer(many=True, read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "external_id", "email", "name", "phone", "tier", "segment", "account_value", "churn_risk",
                  "attributes", "contact_opt_out", "contact_consent", "merged_into", "identities", "created_at", "updated_at"]
        read_only_fields = fields


class EntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField(help_text="response, case, contact, email, verification, closed, reopened, consent "
                                           "or merge.")
    text = serializers.CharField()
    detail = serializers.CharField()
    url = serializers.CharField(help_text="The case page, for a case and its events; empty otherwise.")


class TrendPointSerializer(serializers.Serializer):
    month = serializers.CharField()
    value = serializers.FloatField()
    count = serializers.IntegerField()


class TrendSerializer(serializers.Serializer):
    metric = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField()
    points = TrendPointSerializer(many=True)


class ConsentRowSerializer(serializers.Serializer):
    channel = serializers.CharField()
    value = serializers.CharField(help_text='"granted", "refused" or "" (not asked).')


class AccountRefSerializer(serializers.Serializer):
    account = serializers.IntegerField(source="account_id")
    name = serializers.CharField(source="account.name")
    role = serializers.CharField()


class SegmentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class CustomerDetailSerializer(serializers.Serializer):
    """A customer with what the customer page shows, from what the caller's teams may see."""

    customer = CustomerSerializer()
    channels = serializers.ListField(child=serializers.CharField())
    sources = serializers.ListField(child=serializers.CharField())
    responses_total = serializers.IntegerField()
    cases_total = serializers.IntegerField()
    open_cases = serializers.IntegerField()
    consent = ConsentRowSerializer(many=True)
    accounts = AccountRefSerializer(source="contacts", many=True)
    segments = SegmentRefSerializer(many=True, help_text="The named segments the customer is in, by name.")
    trends = TrendSerializer(many=True)
    timeline = EntrySerializer(many=True, help_text="Newest first, at most 100 entries.")


class ConsentInputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=CHANNELS)
    consent = serializers.ChoiceField(choices=Consent.values, allow_blank=True)
    via = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class AccountSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Account
        fields = ["id", "name", "external_id", "parent", "owner", "value", "renewal_date", "churn_risk", "created_at",
                  "updated_at"]
        read_only_fields = fields


class ContactLineSerializer(serializers.Serializer):
    customer = serializers.IntegerField(source="customer_id")
    name = serializers.CharField()
    role = serializers.CharField()
    account = serializers.IntegerField(source="account_id")
    last_nps = serializers.IntegerField(allow_null=True)
    last_answered_at = serializers.DateTimeField(allow_null=True)


class CoverageSerializer(serializers.Serializer):
    role = serializers.CharField()
    contacts = serializers.IntegerField()
    answered = serializers.IntegerField()


class AccountRuleCaseSerializer(serializers.Serializer):
    reference = serializers.CharField(source="case.reference")
    status = serializers.CharField(source="case.status")
    rule = serializers.CharField(source="rule.name")
    kind = serializers.CharField()
    reasons = serializers.JSONField()
    opened_at = serializers.DateTimeField()


class AccountDetailSerializer(serializers.Serializer):
    """An account with the account page's figures, over it and every account under it."""

    account = AccountSerializer()
    children = AccountSerializer(many=True)
    nps = serializers.FloatField(allow_null=True, help_text="Per respondent: each contact's latest NPS answer of the "
                                                            "last 12 months counts once.")
    weighted_nps = serializers.FloatField(allow_null=True, help_text="The same, weighted by role (decision maker 3, "
                                                                     "influencer 2, user and other 1).")
    respondents = serializers.IntegerField()
    coverage = CoverageSerializer(many=True)
    last_answered_at = serializers.DateTimeField(allow_null=True)
    days_since_last_answer = serializers.IntegerField(allow_null=True)
    open_cases = serializers.IntegerField()
    value_at_risk = serializers.DecimalField(max_digits=14, decimal_places=2)
    contacts_total = serializers.IntegerField()
    contacts = ContactLineSerializer(many=True, help_text="At most 100: decision makers first, then by latest answer.")
    trends = TrendSerializer(many=True)
    rule_cases = AccountRuleCaseSerializer(
        many=True, help_text="Cases account rules opened for the account and those under it that your teams may "
                             "see, open first (at most 20).")


class AccountRuleSerializer(serializers.ModelSerializer):
    """An account rule (docs/customers.md, "Account rules"). `points` (1..200) and
    `min_respondents` are read by `nps_drop` rules; `window_days` (1..3650) by every kind."""

    team = SlugRelatedField(slug_field="slug", queryset=Team.objects.all(),
                                        help_text="The team (slug) whose inbox the cases land in.")

    class Meta:
        model = AccountRule
        fields = ["id", "name", "active", "kind", "points", "window_days", "min_respondents", "team", "priority",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
