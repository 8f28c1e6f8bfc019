"""/api/v1/notifications/: the caller's notification centre (cases.inapp), newest first.

    GET  /api/v1/notifications/?unread=true      list (paginated), `X-Unread-Count` header
    POST /api/v1/notifications/<id>/read/         mark one read (404 when it is not the caller's)
    POST /api/v1/notifications/read-all/          mark every unread one read -> {"marked": n}
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from django.utils.translation import gettext
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from cases import inapp
from cases.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    reference = serializers.SerializerMethodField()
    text = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "reference", "text", "url", "read", "read_at", "created_at"]
        read_only_fields = fields

    def get_reference(self, obj) -> str:
        return inapp.describe(obj)["reference"]

    def get_text(self, obj) -> str:
        return inapp.describe(obj)["text"]

    def get_url(self, obj) -> str:
        return inapp.describe(obj)["url"]

    def get_read(self, obj) -> bool:
        return obj.read_at is not None


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's in-app notifications (assigned to me, mentioned, escalated, customer replied)."""

    serializer_class = NotificationSerializer
    queryset = Notification.objects.none()  # the schema's model; rows come from get_queryset

    def get_queryset(self):
        rows = inapp.for_user(self.request.user)
        unread = self.request.query_params.get("unread")
        if unread is not None:
            if unread not in ("true", "false"):
                raise ValidationError({"unread": [gettext("Use true or false.")]})
            rows = rows.filter(read_at__isnull=(unread == "true"))
        return rows

    @extend_schema(parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, description="Only unread (true) "
                                                "or only read (false) notifications.")])
    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        response["X-Unread-Count"] = str(inapp.unread_count(request.user.pk))
        return response

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = self.get_object()  # another user's id: 404
        inapp.notifications_mark_read(user=request.user, ids=[notification.pk])
        notification.refresh_from_db()
        return Response(self.get_serializer(notification).data)

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": inapp.notifications_mark_read(user=request.user)})
