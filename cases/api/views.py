"""/api/v1/cases/: list (CaseFilterSet), retrieve with timeline, and one POST action per service.

Stale edits: send the version you loaded as `If-Match: "<version>"` (412 when it moved on) or
as `expected_version` in the body (409, with who changed what). Every response carries the
case's ETag. A case the caller cannot see is a 404 for every method."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from accounts.models import Team, User
from cases import services
from cases.bulk import bulk_apply, describe_moves, team_moves
from cases.api import serializers as s
from cases.filtersets import CaseFilterSet
from cases.models import EmailTemplate, Playbook, RootCause
from cases.selectors import case_get_for_user, case_list_for_user, customer_history, with_inbox_order
from cases.timeline import conflict_message, render_customer_template
from core.api import SLUG_CHARACTERS
from core.ids import parse_id

LIFECYCLE_FIELDS = {
    "status": "Use the claim, start, close and reopen actions.",
    "priority": "Use the priority action.",
    "assignee": "Use the assign or claim action.",
    "team": "Use the assign action.",
    "root_cause": "Use the close action.", "resolution": "Use the close action.",
    "outcome": "Use the close action.", "prevention": "Use the close action.",
    "first_contact_due": "Due times follow the SLA policy and cannot be edited.",
    "resolution_due": "Due times follow the SLA policy and cannot be edited.",
    "sla_policy": "SLA policies are set by routing and alert rules.",
    "response": "Scores come from the survey response and cannot be edited.",
}


def etag(case) -> str:
    return f'"{case.version}"'


def _if_match(request) -> int | None:
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    value = header.removeprefix("W/").strip('"')
    version = parse_id(value)
    if version is None:
        raise ValidationError({"If-Match": [gettext('Send the ETag you received, e.g. "3".')]})
    return version


def _conflict_body(exc: services.CaseConflict, request) -> dict:
    return {"detail": exc.message, "code": "conflict", "version": exc.case.version,
            "case": s.CaseSerializer(exc.case, context={"request": request}).data}


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Cases the caller may see. Writes only through the POST actions."""

    serializer_class = s.CaseSerializer
    filterset_class = CaseFilterSet
    lookup_value_regex = r"[^/\x00-\x1f\x7f]+"  # no control characters: a NUL is a 404, not a database error

    def get_queryset(self):
        # Each row shows its response's survey name and its SLA policy's name: joined here, not fetched per row.
        return with_inbox_order(case_list_for_user(self.request.user).select_related("response__survey", "sla_policy"))

    def get_object(self):
        return case_get_for_user(self.request.user, self.kwargs["pk"])

    def get_serializer_class(self):
        return s.CaseDetailSerializer if self.action == "retrieve" else s.CaseSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def retrieve(self, request, *args, **kwargs):
        case = self.get_object()
        response = Response(s.CaseDetailSerializer(case, context=self.get_serializer_context()).data)
        response["ETag"] = etag(case)
        return response

    @extend_schema(request=None, responses={400: None})
    def partial_update(self, request, *args, **kwargs):
        """Nothing on a case is edited in place: 400 names each field and the action to use."""
        self.get_object()  # 404 first for a case the caller cannot see
        errors = {field: [f"Read-only. {LIFECYCLE_FIELDS.get(field, 'Use the case actions.')}"]
                  for field in (request.data or {})}
        raise ValidationError(errors or {"detail": ["Nothing to change: use the case actions."]})

    # --- actions: one input serializer, one service call ---------------------------------
    def _act(self, request, input_class, call):
        case = self.get_object()
        data = input_class(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        header_version = _if_match(request)
        if header_version is not None and header_version != case.version:
            exc = services.CaseConflict(conflict_message(case, header_version), case)
            return Response(_conflict_body(exc, request), status=status.HTTP_412_PRECONDITION_FAILED)
        expected = values.pop("expected_version", None) or header_version
        try:
            updated = call(case, values, expected)
        except services.CaseConflict as exc:
            code = status.HTTP_412_PRECONDITION_FAILED if header_version is not None else status.HTTP_409_CONFLICT
            return Response(_conflict_body(exc, request), status=code)
        except DjangoPermissionDenied:
            raise NotFound("No such case.") from None
        updated = case_get_for_user(request.user, updated.pk) if self._still_visible(updated) else updated
        response = Response(s.CaseDetailSerializer(updated, context=self.get_serializer_context()).data)
        response["ETag"] = etag(updated)
        return response

    def _still_visible(self, case) -> bool:
        return case_list_for_user(self.request.user).filter(pk=case.pk).exists()

    @extend_schema(request=s.BulkInput, responses={200: s.BulkOutput, 409: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def bulk(self, request):
        """Assign, re-prioritise or close several cases: {"action", "cases": [{"id", "version"}], ...}.
        Each case is its own change; the answer says per case what happened. An assignment that
        would move any case to another team is refused (409, code "team_move_unconfirmed", each
        move named) unless "confirm_team_move" is true."""
        data = s.BulkInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        selected = {ref["id"]: ref.get("version") for ref in values["cases"]}
        assignee = team = None
        if values["action"] == "assign":
            if values.get("assignee"):
                assignee = User.objects.filter(pk=values["assignee"], is_active=True).first()
                if assignee is None:
                    raise ValidationError({"assignee": [gettext("No such user.")]})
            if values.get("team"):
                team = Team.objects.visible_to(request.user).filter(pk=values["team"]).first()
                if team is None:
                    raise ValidationError({"team": [gettext("No such team.")]})
                moves = team_moves(request.user, selected, team)
                if moves and not values["confirm_team_move"]:
                    return Response({
                        "detail": f"{describe_moves(moves)} Send confirm_team_move: true to do it.",
                        "code": "team_move_unconfirmed",
                        "moves": [{"case": m.reference, "from_team": m.from_team, "to_team": m.to_team}
                                  for m in moves],
                    }, status=status.HTTP_409_CONFLICT)
        results = bulk_apply(
            request.user, action=values["action"], selected=selected, assignee=assignee, team=team,
            priority=values.get("priority", ""), root_cause=values.get("root_cause"),
            resolution=values.get("resolution", ""), outcome=values.get("outcome", ""),
            prevention=values.get("prevention", ""),
        )
        return Response({"results": s.BulkResultSerializer(results, many=True).data,
                         "done": sum(r.ok for r in results), "failed": sum(not r.ok for r in results)})

    @extend_schema(request=s.VersionedInput, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        return self._act(request, s.VersionedInput, lambda case, v, ev: services.case_claim(
            case_id=case.pk, by=request.user, expected_version=ev))

    @extend_schema(request=s.AssignInput, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        def call(case, values, ev):
            assignee = team = None
            if values.get("team"):
                team = Team.objects.visible_to(request.user).filter(pk=values["team"]).first()
                if team is None:
                    raise ValidationError({"team": [gettext("No such team.")]})
            if values.get("assignee"):
                assignee = User.objects.filter(pk=values["assignee"], is_active=True).first()
                if assignee is None:  # the same answer as for someone outside the team: ids tell nothing
                    raise ValidationError({"assignee": [services.not_a_member(team or case.team)]})
            return services.case_assign(case_id=case.pk, by=request.user, assignee=assignee, team=team,
                                        expected_version=ev)
        return self._act(request, s.AssignInput, call)

    @extend_schema(request=s.VersionedInput, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._act(request, s.VersionedInput, lambda case, v, ev: services.case_start(
            case_id=case.pk, by=request.user, expected_version=ev))

    @extend_schema(request=s.ContactInput, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"], url_path="log-contact")
    def log_contact(self, request, pk=None):
        return self._act(request, s.ContactInput, lambda case, v, ev: services.case_log_contact(
            case_id=case.pk, by=request.user, channel=v["channel"], outcome=v["outcome"], note=v.get("note", ""),
            expected_version=ev))

    @extend_schema(request=s.NoteInput, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def note(self, request, pk=None):
        return self._act(request, s.NoteInput, lambda case, v, ev: services.case_add_note(
            case_id=case.pk, by=request.user, note=v["note"], expected_version=ev))

    @extend_schema(request=s.PriorityInput, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def priority(self, request, pk=None):
        return self._act(request, s.PriorityInput, lambda case, v, ev: services.case_change_priority(
            case_id=case.pk, by=request.user, priority=v["priority"], expected_version=ev))

    @extend_schema(request=s.CloseInput, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._act(request, s.CloseInput, lambda case, v, ev: services.case_close(
            case_id=case.pk, by=request.user, root_cause_id=v.get("root_cause"), resolution=v.get("resolution", ""),
            outcome=v.get("outcome", ""), prevention=v.get("prevention", ""), suggestions=v.get("offered") or [],
            expected_version=ev))

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="suggested-root-causes")
    def suggested_root_causes(self, request, pk=None):
        """Up to three likely root causes for this case, best first, from the classifier trained on
        closed cases (empty without a trained model or a confident answer). Send `offered` back
        unchanged in the close action so whether one was taken is recorded (signed: what is recorded
        is what the server offered)."""
        from cases.forms import sign_offered
        from cases.models import RootCauseModel
        from cases.suggest import suggest_root_causes

        case = self.get_object()
        suggestions = suggest_root_causes(case)
        model = RootCauseModel.objects.defer("blob").order_by("-created_at", "-id").first()
        return Response({
            "suggestions": s.SuggestionSerializer(suggestions, many=True).data,
            "offered": sign_offered([suggestion.as_offered() for suggestion in suggestions]),
            "model": None if model is None else {
                "id": model.pk, "created_at": model.created_at, "trained_on": model.trained_on,
                "accuracy_top1": model.accuracy_top1, "accuracy_top3": model.accuracy_top3,
            },
        })

    @extend_schema(request=s.PlaybookStepInput, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"], url_path="playbook-step")
    def playbook_step(self, request, pk=None):
        """Tick (done=true) or untick a step of a playbook; the timeline records it. Open cases only."""
        def call(case, values, ev):
            playbook = Playbook.objects.filter(pk=values["playbook"], active=True).first()
            if playbook is None:
                raise ValidationError({"playbook": [gettext("No such playbook (or it is no longer in use).")]})
            return services.case_playbook_step(case_id=case.pk, by=request.user, playbook=playbook,
                                               step=values["step"], done=values["done"], expected_version=ev)
        return self._act(request, s.PlaybookStepInput, call)

    @extend_schema(request=s.ReopenInput, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._act(request, s.ReopenInput, lambda case, v, ev: services.case_reopen(
            case_id=case.pk, by=request.user, reason=v["reason"], expected_version=ev))

    @extend_schema(request=s.EmailInput, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def email(self, request, pk=None):
        return self._act(request, s.EmailInput, lambda case, v, ev: services.case_email_customer(
            case_id=case.pk, by=request.user, subject=v["subject"], body=v["body"], expected_version=ev))

    @extend_schema(request=None, responses=s.EmailTemplateSerializer)
    @action(detail=True, methods=["get"], url_path="email-draft")
    def email_draft(self, request, pk=None):
        """?template=<id>: the template filled in for this case (subject, body), to edit and POST to email/."""
        case = self.get_object()
        templates = EmailTemplate.objects.filter(active=True)
        chosen = request.query_params.get("template") or "0"
        if not (chosen.isascii() and chosen.isdigit()) or len(chosen) > 18:
            raise ValidationError({"template": [gettext("Give a template's id (a whole number, from /api/v1/email-templates/).")]})
        template = templates.filter(pk=int(chosen)).first() or templates.first()
        if template is None:
            raise NotFound("No e-mail template is set up.")
        subject, body = render_customer_template(template, case=case, agent=request.user)
        return Response({"id": template.pk, "name": template.name, "subject": subject, "body": body})


class RootCauseViewSet(viewsets.ReadOnlyModelViewSet):
    """The root-cause taxonomy. Active causes only, unless ?include_retired=1."""

    serializer_class = s.RootCauseSerializer
    pagination_class = None

    def get_queryset(self):
        causes = RootCause.objects.select_related("category")
        if self.request.query_params.get("include_retired") not in ("1", "true"):
            causes = causes.filter(active=True, category__active=True)
        return causes


class EmailTemplateViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.EmailTemplateSerializer
    pagination_class = None
    queryset = EmailTemplate.objects.filter(active=True)


class CustomerHistoryViewSet(viewsets.ViewSet):
    """Customer 360: every response and case of one customer the caller may see, newest first."""

    @extend_schema(parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)],
                   responses=OpenApiTypes.OBJECT)
    def retrieve(self, request, pk=None):
        from surveys.models import Customer

        items = customer_history(request.user, pk)
        customer = get_object_or_404(Customer, pk=pk)
        context = {"request": request, "now": timezone.now()}
        out = []
        for item in items:
            if item.kind == "case":
                out.append({"type": "case", "at": item.at, **s.CaseSerializer(item.obj, context=context).data})
            else:
                out.append({"type": "response", "at": item.at, **s.ResponseSummarySerializer(item.obj).data})
        for row in out:
            row["at"] = row["at"].isoformat()
        return Response({"customer": s.CustomerRefSerializer(customer).data, "items": out})


class PlaybookViewSet(viewsets.ReadOnlyModelViewSet):
    """Playbooks: the recommended actions per root cause or theme. Active ones, unless
    ?include_inactive=1; ?root_cause=<id> or ?theme=<slug> narrows them."""

    serializer_class = s.PlaybookSerializer
    pagination_class = None

    @extend_schema(parameters=[
        OpenApiParameter("root_cause", OpenApiTypes.INT), OpenApiParameter("theme", OpenApiTypes.STR),
        OpenApiParameter("include_inactive", OpenApiTypes.BOOL),
    ])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        playbooks = Playbook.objects.select_related("root_cause__category", "theme")
        params = self.request.query_params
        if params.get("include_inactive") not in ("1", "true"):
            playbooks = playbooks.filter(active=True)
        if params.get("root_cause"):
            root_cause_id = parse_id(params["root_cause"])
            if root_cause_id is None:
                raise ValidationError({"root_cause": [gettext("Send a root cause id (a number).")]})
            playbooks = playbooks.filter(root_cause_id=root_cause_id)
        if params.get("theme"):
            if not SLUG_CHARACTERS.fullmatch(params["theme"]):
                raise ValidationError({"theme": ["Send a theme's slug (letters, digits, - and _)."]})
            playbooks = playbooks.filter(theme__slug=params["theme"])
        return playbooks
