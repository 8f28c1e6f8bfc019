from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People, teams and service commitments"

    def ready(self):
        from django.core import checks

        from accounts.sso.checks import sso_settings_check
        from core.checks import email_backend_check

        checks.register(email_backend_check)

        from django.contrib.auth.signals import user_logged_in

        from accounts.preferences import remember_team_zone

        user_logged_in.connect(remember_team_zone, dispatch_uid="accounts.remember_team_zone")
        checks.register(sso_settings_check)
