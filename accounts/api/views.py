"""API: /api/v1/users/ for CX admins: list and read people, invite (POST), change a role or
deactivate / reactivate (PATCH), resend an invitation. Others get 404 (accounts.permissions).
Refusals are 400 naming the field, with the sentences the users pages show."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.serializers import InvitedUserSerializer, InviteSerializer, UserSerializer, UserUpdateSerializer
from accounts.permissions import IsCxAdmin
from accounts.services import users as services


def _invited(result: services.InvitationResult) -> dict:
    user = result.user
    user.invitation_sent, user.invitation_error = result.sent, result.error
    return InvitedUserSerializer(user).data


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """People who sign in, by user name, with their role, status and teams."""

    serializer_class = UserSerializer
    permission_classes = [IsCxAdmin]
    filterset_fields = ["role", "is_active"]

    def get_queryset(self):
        return services.user_list()

    @extend_schema(request=InviteSerializer, responses={201: InvitedUserSerializer},
                   summary="Invite someone by e-mail (they choose their password through the link)")
    def create(self, request):
        params = InviteSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        result = services.user_invite(by=request.user, **params.validated_data)
        return Response(_invited(result), status=status.HTTP_201_CREATED)

    @extend_schema(request=UserUpdateSerializer, responses=UserSerializer,
                   summary="Change a role, deactivate or reactivate")
    def partial_update(self, request, pk=None):
        user = self.get_object()
        params = UserUpdateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.user_update(by=request.user, user_id=user.pk, **params.validated_data)
        return Response(UserSerializer(self.get_queryset().get(pk=user.pk)).data)

    @extend_schema(request=None, responses=InvitedUserSerializer,
                   summary="Send a new invitation link (earlier links stop working)")
    @action(detail=True, methods=["post"], url_path="resend-invitation")
    def resend_invitation(self, request, pk=None):
        user = self.get_object()
        return Response(_invited(services.invitation_resend(by=request.user, user_id=user.pk)))
