"""Writes on accounts: people (invitations, roles, deactivation) live in accounts.services.users.
Pages, the REST API and management commands call these functions; none of them writes a user's
role or active flag directly."""

from accounts.services.preferences import user_set_preferences
from accounts.services.users import (
    InvitationResult, invitation_renew, invitation_resend, invitation_token, user_invite, user_list, user_update,
)

__all__ = ["InvitationResult", "invitation_renew", "invitation_resend", "invitation_token", "user_invite", "user_list", "user_set_preferences", "user_update"]
