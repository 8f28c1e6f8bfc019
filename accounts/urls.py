"""Pages of the accounts app: the users pages (CX admins) and password reset / invitation links
(anyone with a link), two-factor sign-in (accounts.two_factor.views). Sign-in and sign-out stay at
/login/ and /logout/ (config/urls.py); the code step after the password is /login/code/."""

from django.urls import path

from accounts.two_factor import views as two_factor
from accounts.views import passwords, profile, tokens, users

app_name = "accounts"

urlpatterns = [
    path("settings/users/", users.user_list, name="users"),
    path("settings/users/invite/", users.user_invite, name="user_invite"),
    path("settings/users/<int:pk>/", users.user_edit, name="user_edit"),
    path("settings/users/<int:pk>/deactivate/", users.user_deactivate, name="user_deactivate"),
    path("settings/users/<int:pk>/reactivate/", users.user_reactivate, name="user_reactivate"),
    path("settings/users/<int:pk>/resend-invitation/", users.user_resend_invitation, name="user_resend_invitation"),
    path("account/profile/", profile.profile, name="profile"),
    path("settings/users/<int:pk>/two-factor/reset/", two_factor.reset, name="two_factor_reset"),
    path("settings/two-factor/", two_factor.policy, name="two_factor_policy"),
    path("login/code/", two_factor.sign_in_code, name="two_factor_code"),
    path("account/two-factor/", two_factor.overview, name="two_factor"),
    path("account/two-factor/set-up/", two_factor.enrol, name="two_factor_enrol"),
    path("account/two-factor/backup-codes/", two_factor.backup_codes, name="two_factor_backup_codes"),
    path("account/two-factor/remove/", two_factor.remove, name="two_factor_remove"),
    path("account/api-tokens/", tokens.token_list, name="tokens"),
    path("account/api-tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
    path("password-reset/", passwords.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", passwords.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", passwords.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password-reset/done/", passwords.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("invitation/<uidb64>/<token>/", passwords.InvitationConfirmView.as_view(), name="invitation_confirm"),
    path("invitation/done/", passwords.InvitationCompleteView.as_view(), name="invitation_complete"),
]
