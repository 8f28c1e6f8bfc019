from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Survey responses and webhooks"

    def ready(self):
        from core.metrics import register_collector
        from surveys import receivers  # noqa: F401  (source changes -> the webhook source cache)
        from surveys.metrics import DeliveriesCollector

        register_collector(DeliveriesCollector())
