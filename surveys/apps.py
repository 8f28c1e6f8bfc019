from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Survey responses and webhooks"

    def ready(self):
        from surveys import receivers  # noqa: F401  (source changes -> the webhook source cache)
