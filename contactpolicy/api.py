"""/api/v1/contact-policy/: ask before sending, report what was sent, read or change the policy.

    GET  /api/v1/contact-policy/?email=...|customer=<id>|external_id=...[&channel=email][&purpose=survey][&at=ISO]
    POST /api/v1/contact-policy/contacts/   one contact or a list of up to 500
    GET  /api/v1/contact-policy/settings/   (PATCH: CX admins)

Managers, CX admins and their API tokens (survey tools and marketing automation are given one).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsManager, has_role
from contactpolicy import services
from contactpolicy.models import ContactPolicy
from surveys.consent import ContactChannel

MAX_CONTACTS = 500


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    until = serializers.DateTimeField(allow_null=True)


class DecisionSerializer(serializers.Serializer):
    may_contact = serializers.BooleanField()
    next_allowed_at = serializers.DateTimeField(allow_null=True)
    reasons = ReasonSerializer(many=True)
    surveys_in_period = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    time_zone = serializers.CharField()
    at = serializers.DateTimeField()


class DecisionQuerySerializer(serializers.Serializer):
    email = serializers.EmailField(required=False)
    customer = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    external_id = serializers.CharField(required=False, max_length=255)
    channel = serializers.ChoiceField(choices=ContactChannel.values, default=ContactChannel.EMAIL)
    purpose = serializers.ChoiceField(choices=services.Purpose.CHOICES, default=services.Purpose.SURVEY)
    at = serializers.DateTimeField(required=False)

    def validate_external_id(self, value):
        if "\x00" in value:
            raise serializers.ValidationError("An external id cannot contain a NUL character.")
        return value

    def validate(self, data):
        named = [key for key in ("email", "customer", "external_id") if data.get(key) not in (None, "")]
        if len(named) != 1:
            raise serializers.ValidationError("Name the customer with exactly one of email, customer (its id) or "
                                              "external_id.")
        return data


class ContactSerializer(serializers.Serializer):
    sent_at = serializers.DateTimeField()
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    customer = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**63 - 1, default=None)
    channel = serializers.ChoiceField(choices=ContactChannel.values, default=ContactChannel.EMAIL)
    sender = serializers.CharField(max_length=60, help_text="Your tool's name, e.g. mailchimp.")
    external_id = serializers.CharField(max_length=255, required=False, allow_blank=True, default="",
                                        help_text="Your id for this invitation: reporting it twice records it once.")

    def validate(self, data):
        if not data.get("email") and data.get("customer") is None:
            raise serializers.ValidationError("Name the customer with email or customer (its id).")
        for key in ("sender", "external_id", "email"):
            if "\x00" in (data.get(key) or ""):
                raise serializers.ValidationError({key: "Cannot contain a NUL character."})
        return data


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}$", "example": "21:00"})
class ClockField(serializers.TimeField):
    """A time of day as HH:MM (JSON Schema's `time` format wants an offset a wall-clock time has not)."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", input_formats=["%H:%M", "%H:%M:%S"], **kwargs)


class PolicySerializer(serializers.ModelSerializer):
    quiet_start = ClockField(required=False)
    quiet_end = ClockField(required=False)

    class Meta:
        model = ContactPolicy
        fields = ["max_surveys", "period_days", "open_case_blocks", "days_after_close", "quiet_hours",
                  "quiet_start", "quiet_end", "default_time_zone", "updated_at"]
        read_only_fields = ["updated_at"]
        extra_kwargs = {"period_days": {"min_value": 1}}


class AdminWrites(BasePermission):
    message = "Only CX admins may change the contact policy."

    def has_permission(self, request, view):
        return request.method in ("GET", "HEAD", "OPTIONS") or has_role(request.user, "admin")


class ContactDecisionView(APIView):
    """May this person be asked for feedback now? Every reason not, each with when it ends.
    An unknown customer has no history: the answer then rests on the quiet hours alone."""

    permission_classes = [IsManager]
    # Survey tools call this before every send (hundreds a second): the two serializers are built
    # once and shared by every request and thread. A DRF serializer deep-copies its declared fields
    # into each new instance (about 0.25 ms each here, a fifth of an answer's CPU); these fields
    # keep no state between calls (no context, no request), and run_validation and
    # to_representation store nothing on the serializer, unlike is_valid and .data.
    query_serializer = DecisionQuerySerializer()
    decision_serializer = DecisionSerializer()

    @extend_schema(parameters=[DecisionQuerySerializer], responses=DecisionSerializer)
    def get(self, request):
        data = self.query_serializer.run_validation(request.query_params)
        # The customer and their history in one query (services._one_history).
        asked = services.Asked(email=data.get("email") or "", customer_id=data.get("customer"),
                               external_id=data.get("external_id") or "")
        decision = services.contact_decision(asked, channel=data["channel"], purpose=data["purpose"],
                                             at=data.get("at") or timezone.now())
        return Response(self.decision_serializer.to_representation(decision))


# Bind the shared serializers' fields now, in the importing thread, not in the first requests' threads.
ContactDecisionView.query_serializer.fields  # noqa: B018
ContactDecisionView.decision_serializer.fields  # noqa: B018


class ContactRecordView(APIView):
    """Report survey invitations you sent (one object, or a list of up to 500): they count toward
    the customer's limit, and the Contact report lists those the policy would have refused."""

    permission_classes = [IsManager]

    @extend_schema(request=ContactSerializer(many=True), responses={201: None, 207: None})
    def post(self, request):
        items = request.data if isinstance(request.data, list) else [request.data]
        if not items or len(items) > MAX_CONTACTS:
            raise ValidationError({"detail": f"Send between 1 and {MAX_CONTACTS} contacts per request."})
        results, errors, valid = {}, 0, {}
        for index, item in enumerate(items):
            data = ContactSerializer(data=item if isinstance(item, dict) else {})
            if not data.is_valid():
                errors += 1
                results[index] = {"index": index, "status": "error", "errors": data.errors}
                continue
            row = data.validated_data
            valid[index] = services.ContactRow(sent_at=row["sent_at"], customer_id=row["customer"], email=row["email"],
                                               channel=row["channel"], sender=row["sender"],
                                               external_id=row["external_id"])
        # Every valid item at once, in order: a constant number of queries for 1 or 500.
        recorded = services.contact_record_many(list(valid.values()), by=request.user) if valid else []
        for index, outcome in zip(valid, recorded, strict=True):
            if isinstance(outcome, DjangoValidationError):
                errors += 1
                results[index] = {"index": index, "status": "error", "errors": outcome.message_dict}
                continue
            event, created = outcome
            results[index] = {"index": index, "status": "created" if created else "known", "id": event.pk,
                              "customer": event.customer_id, "in_breach": event.in_breach,
                              "breach_reasons": event.breach_reasons}
        results = [results[index] for index in range(len(items))]
        status = 201 if not errors else (400 if errors == len(items) else 207)
        return Response({"results": results, "errors": errors}, status=status)


class PolicySettingsView(APIView):
    """The policy in force; CX admins change it with PATCH (recorded in the audit trail)."""

    permission_classes = [IsManager, AdminWrites]

    @extend_schema(responses=PolicySerializer)
    def get(self, request):
        return Response(PolicySerializer(ContactPolicy.load()).data)

    @extend_schema(request=PolicySerializer, responses=PolicySerializer)
    def patch(self, request):
        data = PolicySerializer(ContactPolicy.load(), data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            policy = services.policy_update(by=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return Response(PolicySerializer(policy).data)

