from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alert rules"

    def ready(self):
        from alerts import receivers  # noqa: F401  (response_recorded -> alerts; rule changes -> cache)
