"""API: /api/v1/tokens/ — a person's own API tokens: list, create (the key is in the 201 answer
and nowhere else, ever), revoke (DELETE). CX admins list and revoke everyone's (filter ?user=<id>).
Writes go through accounts.services.tokens."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.models import ApiToken
from accounts.services import tokens as services


class ApiTokenSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "username", "read_only", "scope", "created_at", "expires_at", "last_used_at"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=services.NAME_MAX)
    expires_in_days = serializers.IntegerField(
        min_value=1, max_value=services.MAX_EXPIRY_DAYS, allow_null=True, required=False,
        default=services.DEFAULT_EXPIRY_DAYS, help_text="Days until it expires; null: never. Default 90.")
    read_only = serializers.BooleanField(default=False, help_text="GET, HEAD and OPTIONS only.")
    scope = serializers.ChoiceField(
        choices=ApiToken.Scope.choices, default=ApiToken.Scope.API,
        help_text="api: the REST API. scim: SCIM provisioning at /scim/v2/ only (CX admins).")


class CreatedTokenSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="Shown this once: store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = ApiTokenSerializer.Meta.fields + ["key"]
        read_only_fields = fields


class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                      viewsets.GenericViewSet):
    """Your API tokens (CX admins: everyone's). Keys are never shown again after creation."""

    serializer_class = ApiTokenSerializer
    filterset_fields = ["user", "read_only"]

    queryset = ApiToken.objects.none()  # for the schema; get_queryset decides

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        if self.request.user.is_admin_role:
            return services.token_list_all()
        return services.token_list(user=self.request.user)

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: CreatedTokenSerializer},
                   summary="Create a token for yourself; the answer carries its key, once")
    def create(self, request):
        params = ApiTokenCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        created = services.token_create(user=request.user, **params.validated_data)
        created.token.key = created.key
        return Response(CreatedTokenSerializer(created.token).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Revoke a token: its key stops working at once")
    def destroy(self, request, pk=None):
        token = self.get_object()
        try:
            services.token_revoke(by=request.user, token_id=token.pk)
        except DjangoPermissionDenied:
            raise NotFound("No such token.") from None
        return Response(status=status.HTTP_204_NO_CONTENT)
