from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Cases"

    def ready(self):
        from cases import receivers  # noqa: F401  (connects to alerts.signals.alert_raised)
        from cases.metrics import CasesCollector
        from core.metrics import register_collector

        register_collector(CasesCollector())
