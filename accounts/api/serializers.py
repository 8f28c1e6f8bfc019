"""User API shapes. The output is read-only; writes take an input serializer and call
accounts.services.users (the same rules and sentences as the users pages)."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import Role, Team, User
from accounts.services.users import user_status


class UserTeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class UserSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)
    status = serializers.SerializerMethodField(help_text="active, invited (no password chosen yet) or deactivated.")
    teams = UserTeamSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "name", "role", "is_active",
                  "is_superuser", "status", "teams", "last_login", "date_joined"]
        read_only_fields = fields

    def get_status(self, user) -> str:
        return user_status(user)


class InvitedUserSerializer(UserSerializer):
    invitation_sent = serializers.BooleanField(help_text="False: the e-mail failed; `invitation_error` says why.")
    invitation_error = serializers.CharField()

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "invitation_sent", "invitation_error"]
        read_only_fields = fields


class InviteSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.AGENT)
    teams = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), many=True, required=False)
    username = serializers.CharField(max_length=150, required=False, allow_blank=True,
                                     help_text="Blank or absent: the e-mail address.")
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class UserUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    is_active = serializers.BooleanField(required=False, help_text="false deactivates, true reactivates.")
