from django.apps import AppConfig


class ImprovementConfig(AppConfig):
    name = "improvement"
    verbose_name = "Action plans"
    default_auto_field = "django.db.models.BigAutoField"
