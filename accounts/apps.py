from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People, teams and service commitments"

    def ready(self):
        from django.core import checks

        from accounts.sso.checks import sso_settings_check
        from core.checks import email_backend_check

        checks.register(email_backend_check)
        checks.register(sso_settings_check)
