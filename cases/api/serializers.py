"""Case API shapes. Output serializers are read-only: every change goes through an action
(an input serializer below + one service call), so no PATCH can move a status, a due time,
an SLA policy or a score."""

from __future__ import annotations

from django.utils.translation import gettext
from rest_framework import serializers

from accounts.models import Priority
from alerts.reasons import describe_reasons
from cases.models import Case, CaseEvent, ContactChannel, ContactOutcome, EmailTemplate, Playbook, RootCause
from cases.timeline import describe_event, event_note
from cases.sla import sla_state


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="display_name")


class TeamRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class CustomerRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField()
    tier = serializers.CharField()
    segment = serializers.CharField()


class ResponseSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    answered_at = serializers.DateTimeField()
    nps = serializers.IntegerField(allow_null=True)
    csat = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    ces = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    comment = serializers.CharField()
    touchpoint = serializers.CharField()
    channel = serializers.CharField()
    location = serializers.CharField()
    survey = serializers.CharField(source="survey.name")
    sentiment = serializers.FloatField(allow_null=True, help_text="-1..1 (negative <= -0.05, positive >= 0.05).")
    language = serializers.CharField()


class RootCauseSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.name")
    label = serializers.CharField(source="__str__")

    class Meta:
        model = RootCause
        fields = ["id", "category", "name", "label", "active"]


class SlaSerializer(serializers.Serializer):
    label = serializers.CharField()
    level = serializers.CharField()


class CaseSerializer(serializers.ModelSerializer):
    team = TeamRefSerializer(read_only=True)
    assignee = PersonSerializer(read_only=True, allow_null=True)
    customer = CustomerRefSerializer(read_only=True, allow_null=True)
    response = ResponseSummarySerializer(read_only=True)
    root_cause = RootCauseSerializer(read_only=True, allow_null=True)
    sla = serializers.SerializerMethodField()
    display_status = serializers.CharField(read_only=True)
    reasons = serializers.SerializerMethodField(
        help_text="Why the alert rule matched, in the requester's language (Accept-Language).")
    reason_codes = serializers.SerializerMethodField(
        help_text='The same reasons as stored: [{"code": "score", "metric": "nps", "value": 2, "op": "lte", '
                  '"threshold": 6}, {"code": "touchpoint", "value": "Checkout"}, ...] (docs/alert-rules.md).')
    sla_policy = serializers.CharField(source="sla_policy.name", read_only=True, allow_null=True, default=None)
    # Blank until the case is closed: the schema must say so.
    outcome = serializers.ChoiceField(choices=Case.Outcome.choices, allow_blank=True, read_only=True)
    root_cause_suggestions = serializers.JSONField(
        read_only=True, help_text='What the close form offered: [{"root_cause_id", "confidence"}], best first.')
    suggestion_taken = serializers.BooleanField(
        read_only=True, allow_null=True, help_text="Whether the closing person took a suggestion (null: none offered).")

    class Meta:
        model = Case
        fields = [
            "id", "reference", "status", "display_status", "sla", "priority", "version", "team", "assignee",
            "customer", "response", "reasons", "reason_codes", "value_at_risk", "sla_policy", "first_contact_due", "resolution_due",
            "first_contacted_at", "overdue_at", "escalation_level", "root_cause", "resolution", "outcome",
            "prevention", "root_cause_suggestions", "suggestion_taken", "closed_at", "reopen_count", "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_sla(self, case) -> dict:
        state = sla_state(case, self.context.get("now"))
        return {"label": state.label, "level": state.level}

    def get_reasons(self, case) -> list[str]:
        return describe_reasons(case.alert.reasons) if case.alert_id and case.alert else []

    def get_reason_codes(self, case) -> list[dict]:
        return list(case.alert.reasons) if case.alert_id and case.alert else []


class CaseEventSerializer(serializers.ModelSerializer):
    actor = PersonSerializer(read_only=True, allow_null=True)
    text = serializers.SerializerMethodField()
    note = serializers.SerializerMethodField(
        help_text="What the person typed, or what the product said (in the requester's language).")

    class Meta:
        model = CaseEvent
        fields = ["id", "kind", "text", "actor", "from_value", "to_value", "note", "data", "version", "created_at"]
        read_only_fields = fields

    def get_text(self, event) -> str:
        return describe_event(event)

    def get_note(self, event) -> str:
        return event_note(event)


class ThemeRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()


class PlaybookSerializer(serializers.ModelSerializer):
    root_cause = RootCauseSerializer(read_only=True, allow_null=True)
    theme = ThemeRefSerializer(read_only=True, allow_null=True)
    steps = serializers.ListField(child=serializers.CharField(), read_only=True,
                                  help_text="The checklist; tick step i (0-based) with POST cases/<ref>/playbook-step/.")

    class Meta:
        model = Playbook
        fields = ["id", "name", "root_cause", "theme", "steps", "script", "active", "updated_at"]
        read_only_fields = fields


class ChecklistStepSerializer(serializers.Serializer):
    step = serializers.IntegerField(source="index", help_text="0-based.")
    text = serializers.CharField()
    done = serializers.BooleanField()


class ChecklistSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="playbook.pk")
    name = serializers.CharField(source="playbook.name")
    applies_to = serializers.CharField(source="for_label")
    script = serializers.CharField(source="playbook.script")
    steps = ChecklistStepSerializer(many=True)


class SuggestionSerializer(serializers.Serializer):
    root_cause_id = serializers.IntegerField(source="root_cause.pk")
    root_cause = RootCauseSerializer()
    confidence = serializers.FloatField(help_text="0..1, the classifier's probability.")


class CaseDetailSerializer(CaseSerializer):
    timeline = serializers.SerializerMethodField()
    responses = serializers.SerializerMethodField()
    playbooks = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "responses", "timeline", "playbooks"]
        read_only_fields = fields

    def get_playbooks(self, case) -> list[dict]:
        """The recommended actions for the case's root cause and themes, with each step's state."""
        from cases.selectors import case_timeline, playbook_checklists, playbooks_for_case

        checklists = playbook_checklists(playbooks_for_case(case), case_timeline(case))
        return ChecklistSerializer(checklists, many=True).data

    def get_timeline(self, case) -> list[dict]:
        from cases.selectors import case_timeline

        return CaseEventSerializer(case_timeline(case), many=True).data

    def get_responses(self, case) -> list[dict]:
        from cases.selectors import case_responses

        return ResponseSummarySerializer(case_responses(case), many=True).data


# --- action inputs ----------------------------------------------------------------------------
class VersionedInput(serializers.Serializer):
    expected_version = serializers.IntegerField(required=False, min_value=1, help_text="The version you loaded.")


class AssignInput(VersionedInput):
    assignee = serializers.IntegerField(required=False, allow_null=True, help_text="User id; null: team queue.")
    team = serializers.IntegerField(required=False, allow_null=True, help_text="Team id to move the case to.")


class ContactInput(VersionedInput):
    channel = serializers.ChoiceField(choices=ContactChannel.choices)
    outcome = serializers.ChoiceField(choices=ContactOutcome.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class NoteInput(VersionedInput):
    note = serializers.CharField(allow_blank=True)


class PriorityInput(VersionedInput):
    priority = serializers.ChoiceField(choices=Priority.choices)


class BulkCaseRef(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                       help_text="The version you loaded: a case changed since is reported, not overwritten.")


class BulkInput(serializers.Serializer):
    """One action over several cases, each through its own service call."""

    # A string rather than a ChoiceField: an enum named "action" already exists in the schema
    # (alert rules), and two enums of one name collide there.
    action = serializers.CharField(help_text="assign, priority or close.")
    cases = BulkCaseRef(many=True, allow_empty=False)
    assignee = serializers.IntegerField(required=False, allow_null=True, help_text="assign: user id.")
    team = serializers.IntegerField(required=False, allow_null=True,
                                    help_text="assign: team id to move the cases to (needs confirm_team_move).")
    confirm_team_move = serializers.BooleanField(
        required=False, default=False,
        help_text="Required (true) when an assignment moves any case to another team; without it the request "
                  "is refused with 409, naming each case and its teams.",
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    root_cause = serializers.IntegerField(required=False, allow_null=True)
    resolution = serializers.CharField(required=False, allow_blank=True, default="")
    outcome = serializers.CharField(required=False, allow_blank=True, default="")
    prevention = serializers.CharField(required=False, allow_blank=True, default="")

    def validate_action(self, value):
        if value not in ("assign", "priority", "close"):
            raise serializers.ValidationError(gettext("Choose assign, priority or close."))
        return value

    def validate(self, data):
        if data["action"] == "assign" and not data.get("assignee") and not data.get("team"):
            raise serializers.ValidationError({"assignee": [gettext("Name a person (assignee) or a team.")]})
        if data["action"] == "priority" and not data.get("priority"):
            raise serializers.ValidationError({"priority": [gettext("Choose a priority.")]})
        return data


class BulkResultSerializer(serializers.Serializer):
    case = serializers.CharField(source="reference")
    ok = serializers.BooleanField()
    message = serializers.CharField()


class BulkOutput(serializers.Serializer):
    results = BulkResultSerializer(many=True)
    done = serializers.IntegerField()
    failed = serializers.IntegerField()


class CloseInput(VersionedInput):
    # Optional here on purpose: the service's closure contract names each missing field.
    root_cause = serializers.IntegerField(required=False, allow_null=True)
    resolution = serializers.CharField(required=False, allow_blank=True, default="")
    outcome = serializers.CharField(required=False, allow_blank=True, default="")
    prevention = serializers.CharField(required=False, allow_blank=True, default="")
    offered = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="The `offered` value of suggested-root-causes/, sent back unchanged: the suggestions the server "
                  "offered are recorded with whether the chosen root cause was one of them.",
    )
    suggestions = serializers.JSONField(
        required=False, help_text="Not accepted: what was offered is what the server offered (send `offered`).",
    )

    def validate_suggestions(self, value):
        if value:
            raise serializers.ValidationError(
                "Suggestions are not taken from the client: send back the `offered` value of suggested-root-causes/."
            )
        return value

    def validate_offered(self, value):
        from cases.forms import verify_offered

        offered = verify_offered(value)
        if offered is None:
            raise serializers.ValidationError(
                "This is not an `offered` value from suggested-root-causes/ (it was changed or comes from elsewhere)."
            )
        return offered


class PlaybookStepInput(VersionedInput):
    playbook = serializers.IntegerField(help_text="Playbook id (see /api/v1/playbooks/ or the case's playbooks).")
    step = serializers.IntegerField(min_value=0, help_text="0-based index into the playbook's steps.")
    done = serializers.BooleanField(default=True, help_text="false unticks the step.")


class ReopenInput(VersionedInput):
    reason = serializers.CharField(allow_blank=True)


class EmailInput(VersionedInput):
    subject = serializers.CharField(allow_blank=True)
    body = serializers.CharField(allow_blank=True)


class EmailTemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = EmailTemplate
        fields = ["id", "name", "subject", "body"]
        read_only_fields = fields
